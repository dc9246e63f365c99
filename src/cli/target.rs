//! Which tenant a command talks to: a local state file (`--state FILE`) or
//! Microsoft Graph (the default).

use std::time::Duration;

use anyhow::Context;

use crate::cli::arguments::TargetArgs;
use crate::graph::{ClientOptions, GraphTenant, auth, endpoint};
use crate::tenant::Tenant;
use crate::tenant::state_file::StateFileTenant;

/// The tenant the target flags name.
pub fn open_tenant(args: &TargetArgs) -> anyhow::Result<Box<dyn Tenant>> {
    match &args.state {
        Some(path) => {
            if !path.is_file() {
                return Err(std::io::Error::from(std::io::ErrorKind::NotFound))
                    .with_context(|| format!("state file {} does not exist", path.display()));
            }
            Ok(Box::new(StateFileTenant::new(path)))
        }
        None => open_graph_tenant(args),
    }
}

/// Microsoft Graph as the tenant: the endpoint from `--cloud` /
/// `--graph-url`, the sign-in from `--auth` and the environment.
fn open_graph_tenant(args: &TargetArgs) -> anyhow::Result<Box<dyn Tenant>> {
    let endpoint =
        endpoint::resolve(args.cloud.into(), args.graph_url.as_deref(), args.allow_custom_graph_host)?;
    let env = |name: &str| std::env::var(name).ok();
    let sign_in = auth::choose(args.auth.into(), args.tenant_id.as_deref(), args.client_id.as_deref(), &env)?;
    tracing::info!(graph = %endpoint.display_root(), sign_in = sign_in.describe(), "target");
    let tokens = auth::token_source(&sign_in, endpoint.cloud, &endpoint.scope, &env)?;
    if args.retry_scale.is_nan() || args.retry_scale <= 0.0 {
        anyhow::bail!("--retry-scale must be above 0, not {}", args.retry_scale);
    }
    let defaults = ClientOptions::default();
    let options = ClientOptions {
        retry: defaults.retry.scaled(args.retry_scale),
        replication: defaults.replication.scaled(args.retry_scale),
        request_timeout: defaults.request_timeout.mul_f64(args.retry_scale).max(Duration::from_secs(5)),
        ..defaults
    };
    let tenant = GraphTenant::new(endpoint, tokens, options, args.tenant_id.clone())?.stop_on_ctrl_c();
    Ok(Box::new(tenant))
}
