#!/usr/bin/env bash
# The plan as a reviewer reads it, in the job summary and the pull-request
# comment alike: the Markdown plan (or the error that kept it from being
# made), then where it came from: the commit it was planned for, the run
# that made it, and the artifact that holds the whole plan as text and
# JSON (the Markdown may be cut to fit a comment; the artifact never is).
#
# Sourced by summary.sh and comment.sh. Environment: ENTRA_CSA_PLAN_DIR,
# ENTRA_CSA_EXIT_CODE, ENTRA_CSA_COMMIT (the commit planned: a pull
# request's head), ENTRA_CSA_ARTIFACT_URL (empty when none was uploaded),
# GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT.

# Prints the report of the plan in folder $1.
plan_report() {
  local folder="$1" code="${ENTRA_CSA_EXIT_CODE:-?}"
  if [[ -s "$folder/plan.md" ]]; then
    cat "$folder/plan.md"
  else
    echo "### entra-csa plan failed (exit $code)"
    echo
    echo '```'
    # A fence no line of the error can close.
    tail -n 50 "$folder/stderr.txt" 2>/dev/null | sed 's/```/`\\`\\`/g'
    echo '```'
  fi
  local server="${GITHUB_SERVER_URL:-https://github.com}" repository="${GITHUB_REPOSITORY:-}"
  local commit="${ENTRA_CSA_COMMIT:-${GITHUB_SHA:-}}"
  local run="$server/$repository/actions/runs/${GITHUB_RUN_ID:-}/attempts/${GITHUB_RUN_ATTEMPT:-1}"
  echo
  echo "---"
  echo
  if [[ -n "$commit" ]]; then
    printf 'Planned for commit [`%s`](%s/%s/commit/%s) by [run %s, attempt %s](%s), exit code %s. ' \
      "${commit:0:12}" "$server" "$repository" "$commit" "${GITHUB_RUN_ID:-?}" "${GITHUB_RUN_ATTEMPT:-1}" "$run" "$code"
  fi
  if [[ -n "${ENTRA_CSA_ARTIFACT_URL:-}" ]]; then
    printf 'The whole plan, as text and JSON: [the plan artifact](%s).\n' "$ENTRA_CSA_ARTIFACT_URL"
  else
    printf 'The whole plan: `entra-csa plan --format text` (no artifact was uploaded).\n'
  fi
}
