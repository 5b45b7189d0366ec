# bash completion for nightshift(1) - installed by `make install` as
# share/bash-completion/completions/nightshift.
#
# The binary says what to offer (`nightshift _complete CWORD WORDS...`),
# from its command table: subcommands, the options each one's parser takes,
# option values, and where a command takes a RUN or partitions, run ids,
# job names and partition keys from the database (honouring a --db already
# on the line). "@file" and "@spec" ask for file names here.

_nightshift()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion -n : || return
    else
        cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    fi
    local IFS=$'\n'
    local -a offer
    offer=($("${words[0]}" _complete "$cword" "${words[@]}" 2>/dev/null))
    case ${offer[0]} in
    @file) COMPREPLY=($(compgen -f -- "$cur")) ;;
    @spec) COMPREPLY=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "${offer[*]}" -- "$cur")) ;;
    esac
    if declare -F __ltrim_colon_completions >/dev/null 2>&1; then
        __ltrim_colon_completions "$cur"
    fi
}
complete -F _nightshift nightshift
