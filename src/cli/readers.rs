//! `entra-csa readers`: what reads each attribute. Reads the tenant's
//! definitions and everything that reads them — Conditional Access and app
//! management policies, lifecycle workflows, and with
//! `--azure-role-assignments` the Azure role assignments with conditions —
//! and writes one row per reader, attribute and value (`render::readers`).
//! A kind of reader that could not be read is named on stderr (and in the
//! JSON), never taken for "nothing reads it".

use std::io::Write;

use anyhow::Context;

use crate::cli::arguments::{ReadersArgs, ReportFormat};
use crate::cli::exit_status::ExitStatus;
use crate::cli::plan::runtime;
use crate::cli::report::filter_of;
use crate::cli::target::open_tenant;
use crate::readers::READERS;
use crate::render::readers::{rows, write_csv, write_json};
use crate::tenant::ReadScope;

/// Runs `readers`.
pub fn run(args: ReadersArgs) -> anyhow::Result<ExitStatus> {
    let tenant = open_tenant(&args.target)?;
    let runtime = runtime()?;
    let live = runtime.block_on(tenant.read(&ReadScope::default()))?;
    let filter = filter_of(&live, &args.sets, &args.attributes)?;
    let mut not_checked: Vec<String> = READERS
        .iter()
        .filter_map(|reader| {
            reader.not_checked(&live).map(|reason| format!("{}s: {reason}", reader.kind().noun))
        })
        .collect();
    not_checked.dedup();
    if live.policies.azure_role_assignments.is_none()
        && live.policies.azure_role_assignments_not_checked.is_none()
    {
        not_checked.push(
            "Azure role assignments: not read; pass --azure-role-assignments to read their conditions"
                .to_owned(),
        );
    }
    let found = crate::readers::references(&live);
    let keep = |set: &str, attribute: &str| filter.covers(set, attribute);
    let rows = rows(&found, &live, &keep);
    let mut out: Box<dyn Write> = match &args.output {
        None => Box::new(std::io::stdout()),
        Some(path) => {
            Box::new(std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?)
        }
    };
    match args.format {
        ReportFormat::Csv => write_csv(&rows, &mut out),
        ReportFormat::Json => write_json(&rows, &not_checked, &mut out),
    }
    .context("cannot write the report")?;
    out.flush().context("cannot write the report")?;
    for reason in &not_checked {
        eprintln!("not checked: {reason}");
    }
    if let Some(path) = &args.output {
        eprintln!("Wrote {} reader row(s) to {}.", rows.len(), path.display());
    }
    Ok(ExitStatus::Success)
}
