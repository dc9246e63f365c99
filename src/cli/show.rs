//! `entra-csa show PLANFILE`: prints a plan saved with `plan --out` (or a
//! JSON plan) again, in any format, as Terraform's `show` does: for a
//! reviewer, or a pipeline step that comments the plan an apply will use.
//! It reads only the file: no sign-in, no Graph request.

use std::io::Write;
use std::path::Path;

use crate::cli::apply::read_plan_document;
use crate::cli::arguments::ShowArgs;
use crate::cli::exit_status::ExitStatus;
use crate::cli::plan::{colour, render_format};
use crate::render;

/// Runs `show`.
pub fn run(args: ShowArgs) -> anyhow::Result<ExitStatus> {
    let plan = read_plan(&args.plan_file)?;
    let mut stdout = std::io::stdout().lock();
    render::render(&plan, render_format(args.format), colour(), &mut stdout)?;
    stdout.flush()?;
    Ok(ExitStatus::Success)
}

/// The plan the file holds, read back for the renderers.
fn read_plan(path: &Path) -> anyhow::Result<crate::plan::Plan> {
    let document = read_plan_document(path, "plan")?;
    render::json_read::plan_from_document(&document).map_err(|problem| {
        anyhow::anyhow!("{}: not a plan this entra-csa can show: {problem}", path.display())
    })
}
