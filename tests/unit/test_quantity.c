/* resource.Quantity as kubectl prints it: the canonical forms of
 * k8s.io/apimachinery's quantity_test.go (TestQuantityParseEmit,
 * TestQuantityAdd) and the describe node shares. */
#include "unit.h"

#include "k8s/quantity.h"

static struct quantity
q (const char *s)
{
  struct quantity v;
  json_t *j = json_string (s);
  ck_assert_msg (quantity_parse (j, &v), "%s parses", s);
  json_decref (j);
  return v;
}

START_TEST (test_canonical)
{
  static const char *const v[][2] = {
    { "100m", "100m" }, { "0.1", "100m" }, { "1000m", "1" },   { "1500m", "1500m" }, { "2", "2" },
    { "1000", "1k" },   { "1M", "1M" },    { "70Mi", "70Mi" }, { "170Mi", "170Mi" }, { "1Ki", "1Ki" },
    { "1024", "1024" }, { "1023Ki", "1023Ki" }, { "1.5Gi", "1536Mi" }, { "0.5Ki", "512" }, { "1e3", "1e3" },
    { "0", "0" },       { "0Mi", "0" },    { "128974848", "128974848" }, { "1n", "1n" }, { "1u", "1u" },
  };
  char out[48];
  for (size_t i = 0; i < sizeof v / sizeof *v; i++)
    {
      struct quantity x = q (v[i][0]);
      ck_assert_str_eq (quantity_string (&x, out), v[i][1]);
    }
  json_t *i = json_integer (3);
  struct quantity x;
  ck_assert (quantity_parse (i, &x));
  ck_assert_str_eq (quantity_string (&x, out), "3");
  json_decref (i);
  static const char *const bad[] = { "", "Mi", "1.2.3", "1x", "1e", "--1" };
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
    {
      json_t *j = json_string (bad[k]);
      ck_assert_msg (!quantity_parse (j, &x), "%s refused", bad[k]);
      json_decref (j);
    }
}
END_TEST

START_TEST (test_add)
{
  char out[48];
  /* the sum keeps the first operand's format; a zero takes the other's */
  struct quantity s = { 0, QUANTITY_DECIMAL_SI }, a = q ("70Mi"), b = q ("100Mi");
  quantity_add (&s, &a);
  quantity_add (&s, &b);
  ck_assert_str_eq (quantity_string (&s, out), "170Mi");
  struct quantity c = q ("100m"), d = q ("250m"), e = q ("1");
  quantity_add (&c, &d);
  ck_assert_str_eq (quantity_string (&c, out), "350m");
  quantity_add (&c, &e);
  ck_assert_str_eq (quantity_string (&c, out), "1350m");
  struct quantity f = q ("1"), g = q ("500m");
  quantity_add (&f, &g);
  ck_assert_str_eq (quantity_string (&f, out), "1500m");
  /* describe node's shares: cpu in millicores, memory in bytes, rounded up */
  ck_assert_int_eq (quantity_milli (&g), 500);
  struct quantity h = q ("1n");
  ck_assert_int_eq (quantity_milli (&h), 1);
  ck_assert_int_eq (quantity_value (&h), 1);
  ck_assert_int_eq (quantity_value (&a), 73400320);
}
END_TEST

static Suite *
suite (void)
{
  Suite *s = suite_create ("quantity");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, test_canonical);
  tcase_add_test (tc, test_add);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (suite)
