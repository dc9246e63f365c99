#!/usr/bin/env bash
# Adds the plan report (report.sh) to the job summary. No token: it only
# writes a file of the runner's.
#
# Environment: those of report.sh, and GITHUB_STEP_SUMMARY.
set -euo pipefail
# shellcheck source=report.sh
source "$(dirname "$0")/report.sh"
plan_report "${ENTRA_CSA_PLAN_DIR:?}" >>"${GITHUB_STEP_SUMMARY:?}"
