# bash completion for nightshift(1) - installed by `make install` as
# share/bash-completion/completions/nightshift.
#
# Subcommands and each one's options come from the binary itself
# (`nightshift --help`, `nightshift help CMD`), so they cannot drift from
# it; run names come from the database (`nightshift _complete runs`, which
# honours a --db already on the line).

_nightshift()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    fi
    local ns=${words[0]}
    if [ "$cword" -eq 1 ]; then
        COMPREPLY=($(compgen -W "$("$ns" --help 2>/dev/null | awk '/^  [a-z]/ { print $1 }') help" -- "$cur"))
        return
    fi
    local cmd=${words[1]} i db=
    for ((i = 2; i < cword; i++)); do
        [ "${words[i]}" = --db ] && db=${words[i+1]}
    done
    case $prev in
    --db | --metrics-textfile | --payload-file)
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    --format)
        COMPREPLY=($(compgen -W "text markdown json jsonl csv" -- "$cur"))
        return
        ;;
    --only)
        COMPREPLY=($(compgen -W "service timer cron" -- "$cur"))
        return
        ;;
    esac
    if [ "$cmd" = help ]; then
        COMPREPLY=($(compgen -W "$("$ns" --help 2>/dev/null | awk '/^  [a-z]/ { print $1 }')" -- "$cur"))
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$("$ns" help "$cmd" 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)" -- "$cur"))
        return
    fi
    case $cmd in
    run | validate | plan | schedule)
        COMPREPLY=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur"))
        ;;
    status | errors | pause | resume | stop | retry | skip | kill | set | audit | summary | \
        metrics | events | logs | console)
        # RUN is the first word that is not an option (or an option's value).
        local n=0
        for ((i = 2; i < cword; i++)); do
            case ${words[i]} in
            --db | --format | --after | --limit | --attempt | --top | --timeout | --reason | \
                --signature | --partition | --raw) ((i++)) ;;
            -*) ;;
            *) ((n++)) ;;
            esac
        done
        if [ "$n" -eq 0 ]; then
            COMPREPLY=($(compgen -W "$("$ns" _complete runs ${db:+--db "$db"} 2>/dev/null)" -- "$cur"))
        fi
        ;;
    esac
}
complete -F _nightshift nightshift
