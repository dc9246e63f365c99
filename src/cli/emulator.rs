//! `entra-csa emulator`: serves the local Microsoft Graph of
//! `crate::emulator` from a state file until Ctrl-C, and prints the one line
//! (`listening on http://ADDR`) that scripts and tests wait for.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;

use super::arguments::{EmulatorArgs, Throttle as ThrottleArgument};
use crate::cli::exit_status::ExitStatus;
use crate::emulator::document::StateDocument;
use crate::emulator::{self, EmulatorConfig, Throttle, Window};

/// Runs the emulator until Ctrl-C.
pub fn run(args: EmulatorArgs) -> anyhow::Result<ExitStatus> {
    if !args.listen.ip().is_loopback() && !args.allow_non_loopback {
        anyhow::bail!(
            "--listen {} is not a loopback address; add --allow-non-loopback to serve the emulator beyond this machine",
            args.listen
        );
    }
    let seed_state = match &args.state {
        None => StateDocument::default(),
        Some(path) => load_state(path)?,
    };
    let config = EmulatorConfig {
        listen: args.listen,
        allow_non_loopback: args.allow_non_loopback,
        seed_state,
        persist: if args.persist { args.state.clone() } else { None },
        token: args.token.clone(),
        latency: Duration::from_millis(args.latency_ms),
        latency_per_item: Duration::from_micros(args.latency_per_item_us),
        page_size: args.page_size.unwrap_or(EmulatorConfig::default().page_size),
        expansion: args.expansion,
        fault_rate: args.fault_rate,
        lost_answers: args.lost_answers,
        slow_answer: Duration::from_millis(args.slow_answer_ms),
        seed: args.seed,
        replication_lag: Duration::from_millis(args.replication_lag_ms),
        throttle: match args.throttle {
            ThrottleArgument::None => Throttle::None,
            ThrottleArgument::Graph => Throttle::Graph,
        },
        limit_conditional_access_reads: matches!(args.throttle, ThrottleArgument::Graph),
        throttle_scale: args.throttle_scale,
        other_app_share: args.other_app_share,
        retry_after_scale: args.retry_after_scale,
        storm: args
            .storm_ms
            .map(|ms| Window { after_writes: args.storm_after_writes, duration: Duration::from_millis(ms) }),
        storm_retry_after: Duration::from_millis(args.storm_retry_after_ms),
        outage: args
            .outage_ms
            .map(|ms| Window { after_writes: args.outage_after_writes, duration: Duration::from_millis(ms) }),
        refuse_upn_ranges: args.refuse_upn_ranges,
        refuse_app_id_prefix: args.refuse_app_id_prefix,
        advanced_query_lag: Duration::from_millis(args.advanced_query_lag_ms),
        // A person poking the emulator with DELETE gets the 405 and a warning.
        expect_deletes: true,
        refuse_beta: false,
        keep_request_log: true,
    };
    if !(0.0..=1.0).contains(&config.fault_rate) {
        anyhow::bail!("--fault-rate must be between 0 and 1, not {}", config.fault_rate);
    }
    if !(0.0..1.0).contains(&config.other_app_share) {
        anyhow::bail!("--other-app-share must be at least 0 and below 1, not {}", config.other_app_share);
    }
    if config.retry_after_scale.is_nan() || config.retry_after_scale <= 0.0 {
        anyhow::bail!("--retry-after-scale must be above 0, not {}", config.retry_after_scale);
    }
    if config.page_size == 0 {
        anyhow::bail!("--page-size must be at least 1");
    }
    // Refused DELETEs are reported at `warn`; `RUST_LOG=debug` shows every request.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let running = emulator::start(config).await?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", running.base_url())?;
        stdout.flush()?;
        drop(stdout);
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        running.shutdown().await;
        Ok(ExitStatus::Success)
    })
}

/// Reads a state file: checked with the state-file reader (which names the
/// line and JSON path of a mistake), then read by the emulator's own code.
fn load_state(path: &std::path::Path) -> anyhow::Result<StateDocument> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read state file {}", path.display()))?;
    crate::tenant::state_file::parse(&text, &path.display().to_string())?;
    serde_json::from_str(&text).with_context(|| format!("cannot read state file {}", path.display()))
}
