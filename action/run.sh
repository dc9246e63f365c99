#!/usr/bin/env bash
# Runs `entra-csa COMMAND ARGS` for the action. Commands that read the tenant
# sign in with the runner's OIDC token through the tool's own
# `--auth workload` (unless ARGS choose otherwise). A `plan` is rendered as
# Markdown: it goes to the job summary and, when asked, to the pull request
# as one comment that later runs update in place, conflicts included (the
# comment is where a reviewer sees them).
#
# Environment: ENTRA_CSA_COMMAND, ENTRA_CSA_ARGS, ENTRA_CSA_COMMENT (true to
# comment), GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, RUNNER_TEMP; for the comment
# GH_TOKEN, GITHUB_REPOSITORY and ENTRA_CSA_PULL_REQUEST.
set -uo pipefail

command="${ENTRA_CSA_COMMAND:?}"
read -r -a args <<<"${ENTRA_CSA_ARGS:-}"

case "$command" in
  plan | apply | export | check-access)
    if [[ " ${args[*]-} " != *" --auth "* && " ${args[*]-} " != *" --state "* ]]; then
      args+=(--auth workload)
    fi
    ;;
esac

if [[ "$command" != plan ]]; then
  entra-csa "$command" ${args[@]+"${args[@]}"}
  code=$?
  echo "exit-code=$code" >>"${GITHUB_OUTPUT:-/dev/null}"
  exit "$code"
fi

out="${RUNNER_TEMP:-/tmp}/entra-csa-plan"
mkdir -p "$out"
entra-csa plan ${args[@]+"${args[@]}"} --format markdown >"$out/plan.md" 2>"$out/stderr.txt"
code=$?
cat "$out/stderr.txt" >&2
echo "exit-code=$code" >>"${GITHUB_OUTPUT:-/dev/null}"

# What a reviewer reads: the plan, or the error that kept it from being made.
if [[ ! -s "$out/plan.md" ]]; then
  {
    echo "### entra-csa plan failed (exit $code)"
    echo
    echo '```'
    tail -n 50 "$out/stderr.txt"
    echo '```'
  } >"$out/plan.md"
fi
cat "$out/plan.md" >>"${GITHUB_STEP_SUMMARY:-/dev/null}"

if [[ "${ENTRA_CSA_COMMENT:-false}" == true ]]; then
  "$(dirname "$0")/comment.sh" "$out/plan.md" || code=1
fi
# 2 (changes, with --detailed-exitcode) is an answer, not a failure.
[[ "$code" == 2 ]] && exit 0
exit "$code"
