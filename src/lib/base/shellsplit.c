#include "base/shellsplit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static bool
is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void
shell_argv_free (char **argv)
{
  if (argv == NULL)
    return;
  for (char **a = argv; *a; a++)
    free (*a);
  free (argv);
}

int
shell_split (const char *cmd, char ***argv_out, size_t *argc_out, const char **why)
{
  char **argv = NULL;
  size_t argc = 0;
  struct strbuf word;
  sb_init (&word);
  /* A word exists once anything, even an empty '' pair, was seen. */
  bool in_word = false;
  const char *p = cmd;

  while (true)
    {
      char c = *p;
      if (c == '\0' || is_blank (c))
        {
          if (in_word)
            {
              *VEC_PUSH (argv, argc) = sb_steal (&word);
              in_word = false;
            }
          if (c == '\0')
            break;
          p++;
          continue;
        }
      in_word = true;
      if (c == '\'')
        {
          const char *end = strchr (p + 1, '\'');
          if (end == NULL)
            {
              *why = "unterminated single quote";
              goto fail;
            }
          sb_addn (&word, p + 1, (size_t) (end - p - 1));
          if (word.buf == NULL)
            sb_add (&word, "");
          p = end + 1;
        }
      else if (c == '"')
        {
          p++;
          if (word.buf == NULL)
            sb_add (&word, "");
          while (*p != '"')
            {
              if (*p == '\0')
                {
                  *why = "unterminated double quote";
                  goto fail;
                }
              if (*p == '\\' && (p[1] == '\\' || p[1] == '"' || p[1] == '$' || p[1] == '`'))
                p++;
              else if (*p == '\\' && p[1] == '\n')
                {
                  p += 2;
                  continue;
                }
              sb_addn (&word, p, 1);
              p++;
            }
          p++;
        }
      else if (c == '\\')
        {
          if (p[1] == '\0')
            {
              *why = "ends with a backslash";
              goto fail;
            }
          sb_addn (&word, p + 1, 1);
          p += 2;
        }
      else
        {
          sb_addn (&word, p, 1);
          p++;
        }
    }
  *VEC_PUSH (argv, argc) = NULL;
  argc--;
  *argv_out = argv;
  if (argc_out)
    *argc_out = argc;
  return 0;

fail:
  sb_free (&word);
  for (size_t i = 0; i < argc; i++)
    free (argv[i]);
  free (argv);
  return -1;
}
