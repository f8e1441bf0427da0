/**
 * `miglab completion bash|zsh`: a completion script generated from the command tree itself, so a
 * new command or option completes without anyone editing a script.
 */
import type { Command } from 'commander';
import { UserError } from '../lib/errors.js';

/** Every command path ('' for the top) with its subcommand names and its options. */
function tree(program: Command): Map<string, { subcommands: string[]; options: string[] }> {
  const out = new Map<string, { subcommands: string[]; options: string[] }>();
  const walk = (cmd: Command, path: string) => {
    const subs = cmd.commands.filter((c) => c.name() !== 'help');
    out.set(path, {
      subcommands: subs.map((c) => c.name()),
      options: [...cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x)), '--help'],
    });
    for (const c of subs) walk(c, path ? `${path} ${c.name()}` : c.name());
  };
  walk(program, '');
  return out;
}

export function completionScript(program: Command, shell: string): string {
  const t = tree(program);
  const cases = [...t.entries()]
    .sort(([a], [b]) => b.split(' ').length - a.split(' ').length) // the longest path matches first
    .map(([path, { subcommands, options }]) => `    "${path}") words="${[...subcommands, ...options].join(' ')}" ;;`)
    .join('\n');
  // the command path typed so far: the words before the cursor that are command names
  const body = `_miglab_words() {
  local path="" w
  for w in "$@"; do
    case "$w" in -*) continue ;; esac
    case "$(_miglab_candidates "\${path}")" in *" $w "*) path="\${path:+$path }$w" ;; *) break ;; esac
  done
  _miglab_candidates "$path"
}
_miglab_candidates() {
  local words=""
  case "$1" in
${cases}
  esac
  printf ' %s ' "$words"
}`;
  if (shell === 'bash') {
    return `# miglab completion for bash: source <(miglab completion bash)
${body}
_miglab() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" w words=()
  # subcommands, or options once a dash is typed; nothing (so: file names) where neither fits
  for w in $(_miglab_words "\${COMP_WORDS[@]:1:COMP_CWORD-1}"); do
    [[ $cur == -* || $w != -* ]] && words+=("$w")
  done
  COMPREPLY=($(compgen -W "\${words[*]}" -- "$cur"))
}
complete -o default -F _miglab miglab
`;
  }
  if (shell === 'zsh') {
    return `#compdef miglab
# miglab completion for zsh: miglab completion zsh > "\${fpath[1]}/_miglab"
${body}
_miglab() {
  local -a candidates
  candidates=(\${=$(_miglab_words "\${(@)words[2,CURRENT-1]}")})
  _describe 'miglab' candidates
  _files
}
compdef _miglab miglab
`;
  }
  throw new UserError(`no completion for shell "${shell}"`, 'use `miglab completion bash` or `miglab completion zsh`');
}
