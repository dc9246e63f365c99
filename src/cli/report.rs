//! `entra-csa report`: who holds what. Reads the attribute sets and
//! definitions (to check the filters), then every user and service
//! principal as a stream, writing each one's rows before the next is read
//! (`render::holdings`), so 100,000 principals cost a page of memory from
//! Graph. Values the tool does not understand are named on stderr and left
//! out, never guessed at.

use std::io::Write;

use anyhow::Context;

use crate::cli::arguments::{ReportArgs, ReportFormat};
use crate::cli::exit_status::ExitStatus;
use crate::cli::output::tell;
use crate::cli::plan::runtime;
use crate::cli::target::open_tenant;
use crate::desired::diagnostic::nearest;
use crate::model::live::LiveState;
use crate::render::holdings::{HoldingsFilter, HoldingsFormat, HoldingsWriter};
use crate::tenant::ReadScope;

/// Runs `report`.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitStatus> {
    if args.coverage {
        return coverage(&args);
    }
    let tenant = open_tenant(&args.target)?;
    let runtime = runtime()?;
    let schema = runtime.block_on(tenant.read(&ReadScope::default()))?;
    let filter = filter_of(&schema, &args.sets, &args.attributes)?;
    // Values their definitions cannot account for are set aside as each
    // principal streams past, as a plan's read sets them aside.
    let shapes = crate::model::live::ValueShapes::of(&schema);
    drop(schema);

    // A report that fails midway leaves no partial document: a file is
    // written beside its path and renamed into place once whole, and JSON
    // for stdout is spooled to an unnamed temporary file (on disk, so a
    // report of 100,000 principals still holds a page in memory) and copied
    // out once whole. CSV to stdout streams: each line stands on its own.
    let mut destination = Destination::open(args.output.as_deref(), args.format)?;
    let mut out = std::io::BufWriter::new(destination.writer());
    let format = match args.format {
        ReportFormat::Csv => HoldingsFormat::Csv,
        ReportFormat::Json => HoldingsFormat::Json,
    };
    let mut writer = HoldingsWriter::start(&mut out, format, args.summary)?;
    let mut principals = 0usize;
    // Principals whose values Graph showed (`null` hides them from a
    // sign-in without the read permission, as it does for "none").
    let mut readable = 0usize;
    let mut visit = |mut principal: crate::model::live::LivePrincipal,
                     mut not_understood: Vec<crate::model::live::NotUnderstood>| {
        not_understood.extend(shapes.set_aside(&mut principal));
        for item in not_understood {
            if filter.touches(&item.set, item.attribute.as_deref()) {
                tell!(
                    "warning: {} {} holds {} in {}.{}, which this version does not understand; left out of the report",
                    principal.kind.as_str(),
                    principal.object_id,
                    item.what,
                    item.set,
                    item.attribute.as_deref().unwrap_or("*"),
                );
            }
        }
        principals += 1;
        readable += usize::from(principal.custom_security_attributes.is_some());
        writer.principal(&principal, &filter).context("cannot write the report")
    };
    runtime.block_on(tenant.each_principal(&mut visit))?;
    let (rows, summary) = writer.finish().context("cannot write the report")?;
    out.flush().context("cannot write the report")?;
    drop(out);
    destination.finish()?;
    if principals > 0 && readable == 0 {
        tell!(
            "warning: every one of the {principals} principal(s) read `customSecurityAttributes: null`: \
             nothing may be assigned, or the sign-in may lack CustomSecAttributeAssignment.Read.All \
             (Graph hides the values then), so this report may be empty for that reason"
        );
    }
    if let Some(path) = &args.output {
        tell!(
            "Wrote {rows} row(s) for {principals} principal(s), {} value(s) held, to {}.",
            summary.rows().count(),
            path.display()
        );
    }
    Ok(ExitStatus::Success)
}

/// `report --coverage`: each requirement of the files over the tenant as
/// it is now (no plan: what a plan would assign is not counted), read with
/// the sweep of each population's kind and the groups' memberships only.
fn coverage(args: &ReportArgs) -> anyhow::Result<ExitStatus> {
    let desired = crate::cli::plan::load_desired(&args.files)?;
    if desired.requirements.is_empty() {
        anyhow::bail!(
            "the files declare no requirements; add a `requirements:` list (see docs/src/how-to/coverage-requirements.md)"
        );
    }
    let tenant = open_tenant(&args.target)?;
    let live = runtime()?.block_on(tenant.read(&ReadScope::for_coverage(&desired)))?;
    let tallies = crate::plan::coverage::tally(&desired, &live, &[]);
    let mut destination = Destination::open(args.output.as_deref(), args.format)?;
    let mut out = std::io::BufWriter::new(destination.writer());
    match args.format {
        ReportFormat::Csv => crate::render::coverage::write_report_csv(&tallies, &mut out)?,
        ReportFormat::Json => crate::render::coverage::write_report_json(&tallies, &mut out)?,
    }
    out.flush().context("cannot write the report")?;
    drop(out);
    destination.finish()?;
    for tally in &tallies {
        if let Some(reason) = &tally.not_checked {
            tell!("warning: requirement `{}` was not checked: {reason}", tally.requirement.name);
        }
    }
    if let Some(path) = &args.output {
        let breaking: usize = tallies.iter().map(|tally| tally.breaking.len()).sum();
        tell!(
            "Wrote {} requirement(s), {breaking} principal(s) breaking one, to {}.",
            tallies.len(),
            path.display()
        );
    }
    Ok(ExitStatus::Success)
}

/// Where the report goes, held back until it is whole where a partial
/// document would mislead.
enum Destination {
    /// CSV to stdout, line by line.
    Stream(std::io::Stdout),
    /// JSON for stdout, spooled until the report is whole.
    Spooled(std::fs::File),
    /// A file, written beside its path until the report is whole.
    File { temporary: tempfile::NamedTempFile, path: std::path::PathBuf },
}

impl Destination {
    fn open(path: Option<&std::path::Path>, format: ReportFormat) -> anyhow::Result<Self> {
        Ok(match (path, format) {
            (None, ReportFormat::Csv) => Destination::Stream(std::io::stdout()),
            (None, ReportFormat::Json) => Destination::Spooled(
                tempfile::tempfile().context("cannot make a temporary file to hold the report")?,
            ),
            (Some(path), _) => {
                let folder = match path.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => parent,
                    _ => std::path::Path::new("."),
                };
                let temporary = tempfile::NamedTempFile::new_in(folder)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Destination::File { temporary, path: path.to_owned() }
            }
        })
    }

    fn writer(&mut self) -> &mut (dyn Write + Send) {
        match self {
            Destination::Stream(stdout) => stdout,
            Destination::Spooled(file) => file,
            Destination::File { temporary, .. } => temporary.as_file_mut(),
        }
    }

    /// Puts the whole report where it goes.
    fn finish(self) -> anyhow::Result<()> {
        match self {
            Destination::Stream(_) => Ok(()),
            Destination::Spooled(mut file) => {
                use std::io::Seek;
                file.seek(std::io::SeekFrom::Start(0)).context("cannot read back the report")?;
                let mut stdout = std::io::stdout().lock();
                std::io::copy(&mut file, &mut stdout).context("cannot write the report")?;
                stdout.flush().context("cannot write the report")
            }
            Destination::File { temporary, path } => {
                temporary.persist(&path).with_context(|| format!("cannot write {}", path.display()))?;
                Ok(())
            }
        }
    }
}

/// The filter the flags ask for, each name checked against the tenant so a
/// typo is an error with a suggestion, not an empty report.
pub fn filter_of(live: &LiveState, sets: &[String], attributes: &[String]) -> anyhow::Result<HoldingsFilter> {
    let mut filter = HoldingsFilter::default();
    for set in sets {
        if !live.attribute_sets.contains_key(set) {
            let suggestion = nearest(set, live.attribute_sets.keys().map(String::as_str))
                .map(|near| format!("; did you mean `{near}`?"))
                .unwrap_or_default();
            anyhow::bail!("--set {set}: the tenant has no attribute set `{set}`{suggestion}");
        }
        filter.sets.push(set.clone());
    }
    for flag in attributes {
        let Some((set, attribute)) = flag.split_once('.') else {
            anyhow::bail!("--attribute {flag}: expected SET.ATTRIBUTE, e.g. --attribute Engineering.Project");
        };
        if !live.definitions.contains_key(&crate::model::definition_id(set, attribute)) {
            let known: Vec<String> = live
                .definitions
                .values()
                .map(|definition| format!("{}.{}", definition.attribute_set, definition.name))
                .collect();
            let suggestion = nearest(flag, known.iter().map(String::as_str))
                .map(|near| format!("; did you mean `{near}`?"))
                .unwrap_or_default();
            anyhow::bail!("--attribute {flag}: the tenant has no attribute `{flag}`{suggestion}");
        }
        filter.attributes.push((set.to_owned(), attribute.to_owned()));
    }
    Ok(filter)
}
