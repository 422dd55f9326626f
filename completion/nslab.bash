# bash completion for nslab: verbs, options, scenario files (*.ini), lab
# names (from `nslab ls`) and exec targets (from `nslab status LAB`).
# Lab names and targets need the privileges nslab ls/status need; without
# them nothing is offered.

_nslab_labs () {
  "${1:-nslab}" ls 2>/dev/null | awk 'NR > 1 { print $1 }'
}

# Targets of lab $2 for pods in namespace $3: host, node/NAME, pod/NAME.
_nslab_targets () {
  echo host
  "${1:-nslab}" status "$2" 2>/dev/null | awk -v ns="$3" '
    $1 == "node" { print "node/" $2 }
    $1 == "pod" { i = index($2, "/"); if (substr($2, 1, i - 1) == ns) print "pod/" substr($2, i + 1) }'
}

_nslab_ini_files () {
  local IFS=$'\n'
  compopt -o filenames 2>/dev/null
  COMPREPLY+=( $(compgen -f -X '!*.ini' -- "$1") $(compgen -d -- "$1") )
}

_nslab () {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local nslab=${COMP_WORDS[0]} verbs="validate plan up down ls status exec test export scale delete apply get describe kubectl help"
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "$verbs --help --version" -- "$cur") )
    return 0
  fi
  local verb=${COMP_WORDS[1]}
  if [ "$prev" = -o ] || [ "$prev" = --output ]; then
    case $verb in plan|ls|status) COMPREPLY=( $(compgen -W "text json" -- "$cur") ); return 0 ;; esac
  fi
  case $verb in
    help)
      [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=( $(compgen -W "$verbs" -- "$cur") ) ;;
    validate)
      if [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "--help" -- "$cur") ); else _nslab_ini_files "$cur"; fi ;;
    up)
      if [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "--wait --help" -- "$cur") ); else _nslab_ini_files "$cur"; fi ;;
    test)
      if [ "$prev" = -o ] || [ "$prev" = --output ]; then COMPREPLY=( $(compgen -W "text tap" -- "$cur") )
      elif [ "$prev" = --junit ]; then compopt -o filenames 2>/dev/null; COMPREPLY=( $(compgen -f -- "$cur") )
      elif [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "-o --output --junit --wait --help" -- "$cur") )
      else COMPREPLY=( $(compgen -W "$(_nslab_labs "$nslab")" -- "$cur") ); _nslab_ini_files "$cur"; fi ;;
    export)
      if [ "$prev" = -o ] || [ "$prev" = --output ]; then compopt -o filenames 2>/dev/null; COMPREPLY=( $(compgen -f -- "$cur") )
      else COMPREPLY=( $(compgen -W "-o --output --help $(_nslab_labs "$nslab")" -- "$cur") ); fi ;;
    plan)
      if [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "-o --output --help" -- "$cur") ); else _nslab_ini_files "$cur"; fi ;;
    ls)
      COMPREPLY=( $(compgen -W "-o --output --help" -- "$cur") ) ;;
    down)
      COMPREPLY=( $(compgen -W "--all --ignore-not-found --help $(_nslab_labs "$nslab")" -- "$cur") ) ;;
    get)
      if [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "-n --namespace -A --all-namespaces -l --selector -o --output --help" -- "$cur") )
      elif [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=( $(compgen -W "$(_nslab_labs "$nslab")" -- "$cur") )
      else COMPREPLY=( $(compgen -W "pods services endpoints endpointslices deployments replicasets nodes namespaces events" -- "$cur") ); fi ;;
    describe)
      if [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "-n --namespace --help" -- "$cur") )
      elif [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=( $(compgen -W "$(_nslab_labs "$nslab")" -- "$cur") )
      else COMPREPLY=( $(compgen -W "pods services endpoints deployments nodes" -- "$cur") ); fi ;;
    kubectl)
      [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=( $(compgen -W "$(_nslab_labs "$nslab")" -- "$cur") ) ;;
    status)
      if [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "-o --output --help" -- "$cur") )
      else COMPREPLY=( $(compgen -W "$(_nslab_labs "$nslab")" -- "$cur") ); fi ;;
    exec|scale|delete)
      # Positional words so far (LAB, TARGET), and the -n namespace.
      local i w lab="" target="" ns=default
      for (( i = 2; i < COMP_CWORD; i++ )); do
        w=${COMP_WORDS[i]}
        case $w in
          --) return 0 ;;
          -n|--namespace) ns=${COMP_WORDS[i+1]}; i=$((i + 1)) ;;
          --replicas|--timeout) i=$((i + 1)) ;;
          --namespace=*) ns=${w#--namespace=} ;;
          -n?*) ns=${w#-n} ;;
          -*) ;;
          *) if [ -z "$lab" ]; then lab=$w; elif [ -z "$target" ]; then target=$w; else return 0; fi ;;
        esac
      done
      case $prev in --replicas|--timeout) return 0 ;; esac
      if [ "$prev" = -n ] || [ "$prev" = --namespace ]; then
        [ -n "$lab" ] && COMPREPLY=( $(compgen -W "$("$nslab" status "$lab" 2>/dev/null |
          awk '$1 == "pod" { sub("/.*", "", $2); print $2 }' | sort -u)" -- "$cur") )
        return 0
      fi
      if [ -z "$lab" ]; then
        COMPREPLY=( $(compgen -W "$(_nslab_labs "$nslab")" -- "$cur") )
      elif [ -z "$target" ]; then
        # scale and delete name workloads by kind; the names are the
        # scenario's, which nslab status does not list.
        case $verb in
          exec) COMPREPLY=( $(compgen -W "-n $(_nslab_targets "$nslab" "$lab" "$ns")" -- "$cur") ) ;;
          scale) compopt -o nospace 2>/dev/null; COMPREPLY=( $(compgen -W "-n deploy/ rs/" -- "$cur") ) ;;
          delete) compopt -o nospace 2>/dev/null
            COMPREPLY=( $(compgen -W "-n deploy/ rs/ svc/ $(_nslab_targets "$nslab" "$lab" "$ns" | grep '^pod/')" -- "$cur") ) ;;
        esac
      else
        case $verb in
          exec) COMPREPLY=( $(compgen -W "--" -- "$cur") ) ;;
          scale) COMPREPLY=( $(compgen -W "--replicas --timeout" -- "$cur") ) ;;
          delete) COMPREPLY=( $(compgen -W "--timeout" -- "$cur") ) ;;
        esac
      fi ;;
    apply)
      if [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "--timeout --help" -- "$cur") ); else _nslab_ini_files "$cur"; fi ;;
  esac
  return 0
}
complete -F _nslab nslab
