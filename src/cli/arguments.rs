//! The command line exactly as typed (clap derive). Nothing here reads files,
//! the environment beyond clap's `env` fallbacks, or the network.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use clap_complete::Shell;

use crate::graph::auth::AuthMethod;
use crate::graph::endpoint::Cloud;

/// `--version`: the version and the commit the binary was built from (build.rs).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("ENTRA_CSA_COMMIT"), ")");

/// Manage Microsoft Entra ID custom security attributes as code.
///
/// Exit codes: 0 success (with --detailed-exitcode: no changes); 1 error (bad
/// input or usage, conflicts, stale plan, failed apply); 2 changes, drift or
/// coverage findings present (only with --detailed-exitcode).
#[derive(Debug, Parser)]
#[command(name = "entra-csa", version = VERSION, about, long_about = None)]
pub struct Arguments {
    /// More logging on stderr: -v for requests and retries, -vv for everything.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check desired-state files offline: no network, no credentials.
    Validate(ValidateArgs),
    /// Compare the files with the tenant and print the plan.
    Plan(PlanArgs),
    /// Carry out a plan: from files (planned anew) or a saved plan file.
    Apply(ApplyArgs),
    /// Print a plan saved with `plan --out` again, in any format; reads only the file.
    Show(ShowArgs),
    /// Write the tenant's attribute sets, definitions and values as desired-state YAML.
    Export(ExportArgs),
    /// Who holds what: one row per principal, attribute and value, as CSV or JSON, with a summary.
    Report(ReportArgs),
    /// What reads each attribute: one row per reader, attribute and value
    /// (Conditional Access and app management policies, lifecycle
    /// workflows, Azure role assignments), as CSV or JSON.
    Readers(ReadersArgs),
    /// Print the JSON Schema of the desired-state file.
    Schema,
    /// Sign in as plan and apply would and report what the token may do.
    CheckAccess(CheckAccessArgs),
    /// Serve a local Microsoft Graph emulator for custom security attributes.
    Emulator(EmulatorArgs),
    /// Print a shell completion script (e.g. `entra-csa completions bash > /etc/bash_completion.d/entra-csa`).
    Completions(CompletionsArgs),
    /// Write man pages (roff) for entra-csa and each of its commands into a folder.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The folder to write `entra-csa.1`, `entra-csa-plan.1`, … into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A desired-state file, or a folder of *.yaml / *.yml files. Repeatable.
    #[arg(short = 'f', long = "file", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,

    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Text)]
    pub format: DiagnosticFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticFormat {
    /// file:line:column: message, for people.
    Text,
    /// GitHub Actions workflow commands (::error file=...,line=...).
    Github,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A desired-state file, or a folder of *.yaml / *.yml files. Repeatable.
    #[arg(short = 'f', long = "file", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,

    /// Output format of the plan.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,

    /// Also save the plan (JSON, with the desired state) for `apply PLANFILE`.
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,

    /// Also write the plan in FORMAT (text, json, markdown) to PATH, from
    /// the same reading of the tenant; repeatable. Written even when the
    /// plan has conflicts (e.g. `--render-to json=plan.json`).
    #[arg(long, value_name = "FORMAT=PATH", value_parser = parse_render_to)]
    pub render_to: Vec<(PlanFormat, PathBuf)>,

    /// Exit 2 when there are changes, drift or coverage findings, 0 when in sync, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// A drift check: take the files as applied (a scheduled run against the
    /// main branch), so every difference is drift — "the tenant differs from
    /// the files" — listed with the tenant's and the files' values.
    #[arg(long)]
    pub drift: bool,

    /// Explain each drift finding from Entra's audit log of custom security
    /// attribute changes (Microsoft Graph beta): who changed it (user, or app
    /// and appId), when, the activity, and the old and new values. Needs
    /// CustomSecAttributeAuditLogs.Read.All; without it, or when the log
    /// cannot be read, the plan says why the findings are unexplained and
    /// is otherwise the same.
    #[arg(long)]
    pub explain: bool,

    /// How far back --explain reads the audit log, e.g. 7d, 36h, 2w.
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_since, requires = "explain")]
    pub since: std::time::Duration,

    #[command(flatten)]
    pub target: TargetArgs,
}

/// `--since`: a duration of at least a minute, as people write it (`7d`, `36h`, `2w`).
fn parse_since(text: &str) -> Result<std::time::Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|error| format!("`{text}` is not a duration ({error}): write e.g. 7d, 36h or 2w"))?;
    if duration < std::time::Duration::from_secs(60) {
        return Err(format!("`{text}` is under a minute: write e.g. 7d, 36h or 2w"));
    }
    Ok(duration)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A desired-state file, or a folder of *.yaml / *.yml files. Repeatable.
    #[arg(short = 'f', long = "file", value_name = "PATH", conflicts_with = "plan_file")]
    pub files: Vec<PathBuf>,

    /// A plan saved with `plan --out`; refused if the tenant changed since.
    #[arg(value_name = "PLANFILE", required_unless_present = "files")]
    pub plan_file: Option<PathBuf>,

    /// Apply without asking; required when stdin is not a terminal.
    #[arg(long)]
    pub auto_approve: bool,

    /// Stop sending writes this long after the command starts (e.g. `5h30m`,
    /// `50m`), report what was done and what remains, and exit 3. Apply the
    /// same saved plan again to finish it.
    #[arg(long, value_name = "DURATION", value_parser = parse_max_duration)]
    pub max_duration: Option<std::time::Duration>,

    #[command(flatten)]
    pub target: TargetArgs,
}

/// `--max-duration`: a duration such as `5h30m`, `90m`, `45s`, above zero.
fn parse_max_duration(text: &str) -> Result<std::time::Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|error| format!("{error}; expected a duration such as `5h30m`, `50m` or `90s`"))?;
    if duration.is_zero() {
        return Err("a deadline of zero would stop before anything is sent; give a duration above 0".into());
    }
    Ok(duration)
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `plan --out` (or written by `plan --format json`).
    #[arg(value_name = "PLANFILE")]
    pub plan_file: PathBuf,

    /// Output format of the plan.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct CheckAccessArgs {
    /// Desired-state files, to judge what their plan and apply need (default: everything).
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// The job the identity is for: exit 0 when it has what that job needs.
    /// `plan` and `drift` need only reads (a read-only identity for pull
    /// requests and schedules passes); `apply` needs the writes too.
    #[arg(long = "for", value_enum, default_value_t = AccessPurpose::Apply, value_name = "JOB")]
    pub purpose: AccessPurpose,

    #[command(flatten)]
    pub target: TargetArgs,
}

/// The values of `check-access --for`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessPurpose {
    /// `plan`: reads only.
    Plan,
    /// `apply`: reads and writes.
    Apply,
    /// `plan --drift` on a schedule: reads only, as `plan`.
    Drift,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only these attribute sets. Repeatable; default all.
    #[arg(long = "set", value_name = "NAME")]
    pub sets: Vec<String>,

    /// Also export the values assigned to users and service principals.
    #[arg(long)]
    pub assignments: bool,

    /// SET or SET.ATTRIBUTE whose values another writer owns (HR inbound
    /// provisioning, a script), with that writer after `=`: exported with
    /// `valuesOwnedBy`, its values left out of the assignments. Repeatable.
    #[arg(long = "values-owned-by", value_name = "SET[.ATTRIBUTE]=WRITER")]
    pub values_owned_by: Vec<String>,

    /// A file, or a folder to write one file per set; default stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE|DIR")]
    pub output: Option<PathBuf>,

    /// Overwrite files that export did not write, or that were edited since
    /// (export otherwise refuses them and writes nothing).
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// CSV (one row per principal, attribute and value) or JSON (the rows and the summary).
    #[arg(long, value_enum, default_value_t = ReportFormat::Csv)]
    pub format: ReportFormat,

    /// Only the summary: how many users and service principals hold each value.
    #[arg(long)]
    pub summary: bool,

    /// Only this attribute set. Repeatable; with --attribute, either may match.
    #[arg(long = "set", value_name = "NAME")]
    pub sets: Vec<String>,

    /// Only this attribute. Repeatable; with --set, either may match.
    #[arg(long = "attribute", value_name = "SET.ATTRIBUTE")]
    pub attributes: Vec<String>,

    /// The file to write; default stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Instead of who holds what: for each requirement of the files given
    /// with -f, how many principals meet it and which do not (the tenant
    /// as it is now).
    #[arg(long, requires = "files", conflicts_with_all = ["summary", "sets", "attributes"])]
    pub coverage: bool,

    /// With --coverage: a desired-state file, or a folder of *.yaml / *.yml
    /// files, whose requirements are checked. Repeatable.
    #[arg(short = 'f', long = "file", value_name = "PATH", requires = "coverage")]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct ReadersArgs {
    /// CSV (one row per reader, attribute and value) or JSON (the rows and what was not checked).
    #[arg(long, value_enum, default_value_t = ReportFormat::Csv)]
    pub format: ReportFormat,

    /// Only this attribute set. Repeatable; with --attribute, either may match.
    #[arg(long = "set", value_name = "NAME")]
    pub sets: Vec<String>,

    /// Only this attribute. Repeatable; with --set, either may match.
    #[arg(long = "attribute", value_name = "SET.ATTRIBUTE")]
    pub attributes: Vec<String>,

    /// The file to write; default stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Csv,
    Json,
}

/// Which tenant to talk to, and how to sign in.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Use a local state file (Graph-shaped JSON) instead of Microsoft Graph.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["graph_url", "cloud"])]
    pub state: Option<PathBuf>,

    /// Graph service root, without /v1.0 (e.g. an emulator on loopback).
    /// [env: ENTRA_CSA_GRAPH_URL; a flag on the command line, --state
    /// included, wins over it]
    #[arg(long, value_name = "URL")]
    pub graph_url: Option<String>,

    /// National cloud: sets the service root and the token scope [default: global].
    #[arg(long, value_enum)]
    pub cloud: Option<CloudFlag>,

    /// Allow --graph-url to point at a host that is neither a Microsoft Graph
    /// root nor loopback.
    #[arg(long)]
    pub allow_custom_graph_host: bool,

    /// Directory (tenant) id, for client-secret, certificate and workload sign-in.
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "GUID")]
    pub tenant_id: Option<String>,

    /// Application (client) id, for client-secret, certificate, workload and
    /// user-assigned managed identity sign-in.
    #[arg(long, env = "AZURE_CLIENT_ID", value_name = "GUID")]
    pub client_id: Option<String>,

    /// How to sign in; `auto` picks the first method that is configured.
    #[arg(long, value_enum, default_value_t = AuthFlag::Auto)]
    pub auth: AuthFlag,

    /// Also read the Azure role assignments whose condition reads custom
    /// security attributes (Azure ABAC), through Azure Resource Graph: a
    /// deactivation they rely on is a conflict, a value change they read is
    /// an impact line. Needs Microsoft.Authorization/roleAssignments/read at
    /// the scopes to check. [env: ENTRA_CSA_AZURE_ROLE_ASSIGNMENTS=1]
    #[arg(long)]
    pub azure_role_assignments: bool,

    /// Azure Resource Manager root (e.g. an emulator on loopback) for
    /// --azure-role-assignments [default: the --cloud's]. [env: ENTRA_CSA_ARM_URL]
    #[arg(long, value_name = "URL")]
    pub arm_url: Option<String>,

    /// Multiplies every retry wait and budget (tests and benchmarks shorten
    /// an outage with it; the rule stays the same). Hidden: not for users.
    #[arg(long, hide = true, env = "ENTRA_CSA_RETRY_SCALE", default_value_t = 1.0, value_name = "FACTOR")]
    pub retry_scale: f64,

    /// Multiplies the write quota the pacer aims under, to match an emulator
    /// run with `--throttle-scale` (benchmarks). Hidden: not for users.
    #[arg(
        long,
        hide = true,
        env = "ENTRA_CSA_WRITE_QUOTA_SCALE",
        default_value_t = 1.0,
        value_name = "FACTOR"
    )]
    pub write_quota_scale: f64,
}

impl TargetArgs {
    /// The cloud `--cloud` names, the global one when not given.
    pub fn cloud(&self) -> Cloud {
        self.cloud.map_or(Cloud::Global, Cloud::from)
    }

    /// Whether the flags (or `ENTRA_CSA_GRAPH_URL`) name a tenant: a saved
    /// plan then applies there or is refused; without, it applies to the
    /// target it records.
    pub fn names_a_target(&self) -> bool {
        self.state.is_some() || self.graph_url().is_some() || self.cloud.is_some()
    }

    /// `--azure-role-assignments`, or `ENTRA_CSA_AZURE_ROLE_ASSIGNMENTS` set
    /// to `1` or `true`.
    pub fn azure_role_assignments(&self) -> bool {
        self.azure_role_assignments
            || std::env::var("ENTRA_CSA_AZURE_ROLE_ASSIGNMENTS")
                .is_ok_and(|value| matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
    }

    /// `--arm-url`, or else `ENTRA_CSA_ARM_URL`.
    pub fn arm_url(&self) -> Option<String> {
        self.arm_url.clone().or_else(|| std::env::var("ENTRA_CSA_ARM_URL").ok().filter(|url| !url.is_empty()))
    }

    /// `--graph-url`, or else `ENTRA_CSA_GRAPH_URL`. Read here rather than
    /// by clap, so that the variable never conflicts with `--state` given
    /// on the command line: a flag wins over the environment.
    pub fn graph_url(&self) -> Option<String> {
        self.graph_url
            .clone()
            .or_else(|| std::env::var("ENTRA_CSA_GRAPH_URL").ok().filter(|url| !url.is_empty()))
    }
}

/// The values of `--cloud`; `graph::Cloud` is what they mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CloudFlag {
    Global,
    Usgov,
    UsgovDod,
    China,
}

impl From<CloudFlag> for Cloud {
    fn from(flag: CloudFlag) -> Cloud {
        match flag {
            CloudFlag::Global => Cloud::Global,
            CloudFlag::Usgov => Cloud::Usgov,
            CloudFlag::UsgovDod => Cloud::UsgovDod,
            CloudFlag::China => Cloud::China,
        }
    }
}

/// The values of `--auth`, with their help; `graph::auth::AuthMethod` is what they mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthFlag {
    /// ENTRA_CSA_ACCESS_TOKEN, then workload identity (token file, GitHub
    /// Actions OIDC), Azure Pipelines, client secret, certificate, managed
    /// identity, then developer tools.
    Auto,
    /// A bearer token from ENTRA_CSA_ACCESS_TOKEN.
    Token,
    /// Azure CLI, then Azure Developer CLI (local use).
    Cli,
    /// Client secret from AZURE_CLIENT_SECRET.
    Secret,
    /// Client certificate (PKCS#12) from AZURE_CLIENT_CERTIFICATE_PATH.
    Certificate,
    /// Workload identity federation (AZURE_FEDERATED_TOKEN_FILE; GitHub Actions OIDC).
    Workload,
    /// Azure Pipelines service connection (OIDC).
    Pipelines,
    /// Managed identity of the machine.
    ManagedIdentity,
}

impl From<AuthFlag> for AuthMethod {
    fn from(flag: AuthFlag) -> AuthMethod {
        match flag {
            AuthFlag::Auto => AuthMethod::Auto,
            AuthFlag::Token => AuthMethod::Token,
            AuthFlag::Cli => AuthMethod::Cli,
            AuthFlag::Secret => AuthMethod::Secret,
            AuthFlag::Certificate => AuthMethod::Certificate,
            AuthFlag::Workload => AuthMethod::Workload,
            AuthFlag::Pipelines => AuthMethod::Pipelines,
            AuthFlag::ManagedIdentity => AuthMethod::ManagedIdentity,
        }
    }
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on; loopback unless --allow-non-loopback.
    #[arg(long, default_value = "127.0.0.1:8790", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Listen on an address that is not loopback.
    #[arg(long)]
    pub allow_non_loopback: bool,

    /// Seed the store from a state file.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Write the store back to --state after every change.
    #[arg(long, requires = "state")]
    pub persist: bool,

    /// The only bearer token accepted; default any non-empty token.
    #[arg(long, env = "ENTRA_CSA_EMULATOR_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Delay added to every response.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,

    /// Delay added per item of a collection page (microseconds), so a full
    /// page takes longer than a part-filled one, as on Graph.
    #[arg(long, default_value_t = 0, value_name = "US")]
    pub latency_per_item_us: u64,

    /// Largest page a list answers with (Graph: 100 default, 999 max for principals).
    #[arg(long, value_name = "N")]
    pub page_size: Option<usize>,

    /// How `$expand=allowedValues` is answered: `whole`; `cut` (at most 20
    /// values and no nextLink, Graph's documented known issue of `$expand`);
    /// or a number N (N values, then `allowedValues@odata.nextLink`).
    #[arg(long, default_value = "whole", value_name = "whole|cut|N", value_parser = parse_expansion)]
    pub expansion: crate::emulator::Expansion,

    /// Share of requests answered with an injected fault (429, 503, reset).
    #[arg(long, default_value_t = 0.0, value_name = "0..1")]
    pub fault_rate: f64,

    /// Add the faults after which the write has happened: an answer held
    /// back for --slow-answer-ms, a reset after the write, a batch item
    /// answered 503 after it was applied.
    #[arg(long)]
    pub lost_answers: bool,

    /// How long a held-back answer of --lost-answers waits.
    #[arg(long, default_value_t = 2_000, value_name = "MS", requires = "lost_answers")]
    pub slow_answer_ms: u64,

    /// Seed of the fault injector.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// How long a new definition stays unassignable.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub replication_lag_ms: u64,

    /// Throttling model.
    #[arg(long, value_enum, default_value_t = Throttle::None)]
    pub throttle: Throttle,

    /// Multiply Graph's quotas by this factor (e.g. 10 for faster benchmarks).
    #[arg(long, default_value_t = 1.0)]
    pub throttle_scale: f64,

    /// A second app of the tenant uses this share of the write quota (with
    /// --throttle graph): the quota starts used up, and only the rest of it
    /// comes back.
    #[arg(long, default_value_t = 0.0, value_name = "0..1", requires = "throttle")]
    pub other_app_share: f64,

    /// A throttling storm: every write answered 429 for this long, as when
    /// another app uses up the tenant's quota.
    #[arg(long, value_name = "MS")]
    pub storm_ms: Option<u64>,

    /// The storm begins with the write after this many writes.
    #[arg(long, default_value_t = 0, value_name = "N", requires = "storm_ms")]
    pub storm_after_writes: u64,

    /// The Retry-After of the storm's 429s.
    #[arg(long, default_value_t = 2_000, value_name = "MS", requires = "storm_ms")]
    pub storm_retry_after_ms: u64,

    /// An outage: every Graph request answered 503 for this long.
    #[arg(long, value_name = "MS")]
    pub outage_ms: Option<u64>,

    /// The outage begins after this many writes.
    #[arg(long, default_value_t = 0, value_name = "N", requires = "outage_ms")]
    pub outage_after_writes: u64,

    /// Multiply the Retry-After of injected 429s (e.g. 0.05 for fast tests).
    #[arg(long, default_value_t = 1.0, value_name = "FACTOR")]
    pub retry_after_scale: f64,

    /// Refuse `ge`/`le` on userPrincipalName (400), as a tenant may:
    /// Microsoft's filter table leaves `ge` blank for it.
    #[arg(long)]
    pub refuse_upn_ranges: bool,

    /// Refuse `startsWith(appId, …)` without `$count=true` and
    /// `ConsistencyLevel: eventual` (400), as a tenant may: the filter table
    /// leaves it blank.
    #[arg(long)]
    pub refuse_app_id_prefix: bool,

    /// Advanced queries (`ConsistencyLevel: eventual`) see the tenant as it
    /// was this long ago, as Graph's eventually consistent index may.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub advanced_query_lag_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Throttle {
    /// No quotas.
    None,
    /// Graph's documented identity quotas per app and tenant.
    Graph,
}

fn parse_render_to(text: &str) -> Result<(PlanFormat, PathBuf), String> {
    let (format, path) = text
        .split_once('=')
        .ok_or_else(|| format!("expected FORMAT=PATH (e.g. json=plan.json), not `{text}`"))?;
    let format = PlanFormat::from_str(format, false)
        .map_err(|_| format!("`{format}` is not a plan format: expected text, json or markdown"))?;
    if path.is_empty() {
        return Err(format!("`{text}` names no file: expected FORMAT=PATH (e.g. json=plan.json)"));
    }
    Ok((format, PathBuf::from(path)))
}

fn parse_expansion(text: &str) -> Result<crate::emulator::Expansion, String> {
    use crate::emulator::Expansion;
    match text {
        "whole" => Ok(Expansion::Whole),
        "cut" => Ok(Expansion::CutSilently),
        number => match number.parse::<usize>() {
            Ok(limit) if limit > 0 => Ok(Expansion::Paged(limit)),
            _ => Err(format!("expected `whole`, `cut` or a number of values above 0, not `{number}`")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        Arguments::command().debug_assert();
    }
}
