#!/usr/bin/env bash
# Runs `entra-csa COMMAND ARGS` for the action and records what it did; the
# action's later steps publish it. The step itself never fails: the exit code
# goes to the `exit-code` output, and the action's last step fails the job
# with it, after the plan has been uploaded, summarised and commented on.
#
# ARGS holds one argument per line, so an argument may hold spaces
# (`-f` and `my attributes/` on two lines). Commands that read the tenant
# sign in with the runner's OIDC token through the tool's own
# `--auth workload`, unless ARGS give `--auth` (or `--auth=…`) or a state
# file (`--state`). A `plan` is written three times from one reading of the
# tenant (`--render-to`): text, JSON and Markdown, whose paths are the
# outputs `plan-text`, `plan-json` and `plan-markdown`.
#
# Environment: ENTRA_CSA_COMMAND, ENTRA_CSA_ARGS, ENTRA_CSA_PLAN_DIR (where
# the plan files go; default RUNNER_TEMP/entra-csa-plan), GITHUB_OUTPUT.
set -uo pipefail

command="${ENTRA_CSA_COMMAND:?}"
out="${ENTRA_CSA_PLAN_DIR:-${RUNNER_TEMP:-/tmp}/entra-csa-plan}"
if [[ "$command" == plan ]]; then
  mkdir -p "$out"
  rm -f "$out/plan.txt" "$out/plan.json" "$out/plan.md" "$out/stderr.txt"
  echo "plan-directory=$out" >>"${GITHUB_OUTPUT:-/dev/null}"
fi

# A mistake in the action's inputs, reported where a plan's error would be.
fail() {
  echo "::error title=entra-csa::$*" >&2
  if [[ "$command" == plan ]]; then echo "error: $*" >"$out/stderr.txt"; fi
  echo "exit-code=1" >>"${GITHUB_OUTPUT:-/dev/null}"
  exit 0
}

args=()
while IFS= read -r line || [[ -n "$line" ]]; do
  line="${line%$'\r'}"
  # Surrounding blanks are YAML's indentation, not the argument's.
  line="${line#"${line%%[![:space:]]*}"}"
  line="${line%"${line##*[![:space:]]}"}"
  [[ -z "$line" ]] && continue
  # `-f attributes/` on one line is the old, space-separated form.
  if [[ "$line" == -* && "$line" =~ ^[^=[:space:]]+[[:space:]] ]]; then
    fail "args takes one argument per line: write '${line%%[[:space:]]*}' and '${line#*[[:space:]]}' on lines of their own (in \`args: |\`)"
  fi
  args+=("$line")
done <<<"${ENTRA_CSA_ARGS:-}"

# Whether the user gave FLAG, as `FLAG VALUE` or `FLAG=VALUE`.
given() {
  local arg
  for arg in ${args[@]+"${args[@]}"}; do
    [[ "$arg" == "$1" || "$arg" == "$1="* ]] && return 0
  done
  return 1
}

case "$command" in
  plan | apply | export | check-access | report)
    if ! given --auth && ! given --state; then
      args+=(--auth workload)
    fi
    ;;
esac

if [[ "$command" != plan ]]; then
  entra-csa "$command" ${args[@]+"${args[@]}"}
  echo "exit-code=$?" >>"${GITHUB_OUTPUT:-/dev/null}"
  exit 0
fi

# stdout (in the format the user chose, text by default) goes to the log.
# stderr is kept for the report when no plan could be made.
entra-csa plan ${args[@]+"${args[@]}"} \
  --render-to "text=$out/plan.txt" --render-to "json=$out/plan.json" --render-to "markdown=$out/plan.md" \
  2>"$out/stderr.txt"
code=$?
cat "$out/stderr.txt" >&2
{
  echo "exit-code=$code"
  for format in text:txt json:json markdown:md; do
    [[ -s "$out/plan.${format#*:}" ]] && echo "plan-${format%:*}=$out/plan.${format#*:}"
  done
} >>"${GITHUB_OUTPUT:-/dev/null}"
exit 0
