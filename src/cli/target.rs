//! Which tenant a command talks to: a local state file (`--state FILE`) or
//! Microsoft Graph (the default); and for a saved plan, the target it
//! records and whether another one is the same.

use std::path::{Path, PathBuf};

use std::time::Duration;

use anyhow::Context;
use clap::ValueEnum;

use crate::cli::arguments::{AuthFlag, CloudFlag, TargetArgs};
use crate::graph::endpoint::Cloud;
use crate::graph::{ClientOptions, GraphTenant, auth, endpoint};
use crate::plan::Target;
use crate::render::json_types::JsonTarget;
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
        endpoint::resolve(args.cloud(), args.graph_url().as_deref(), args.allow_custom_graph_host)?;
    let env = |name: &str| std::env::var(name).ok();
    let sign_in = auth::choose(args.auth.into(), args.tenant_id.as_deref(), args.client_id.as_deref(), &env)?;
    tracing::info!(graph = %endpoint.display_root(), sign_in = sign_in.describe(), "target");
    let tokens = auth::token_source(&sign_in, endpoint.cloud, &endpoint.scope, &env)?;
    let tokens = with_sign_in_advice(tokens, args, &sign_in, &endpoint);
    if args.retry_scale.is_nan() || args.retry_scale <= 0.0 {
        anyhow::bail!("--retry-scale must be above 0, not {}", args.retry_scale);
    }
    if args.write_quota_scale.is_nan() || args.write_quota_scale <= 0.0 {
        anyhow::bail!("--write-quota-scale must be above 0, not {}", args.write_quota_scale);
    }
    // Benchmarks compare the single sweep with the partitioned one through
    // this (undocumented in --help) knob; 1 forces the single sweep.
    let sweep_partitions =
        std::env::var("ENTRA_CSA_SWEEP_PARTITIONS").ok().and_then(|value| value.trim().parse::<usize>().ok());
    let defaults = ClientOptions::default();
    let options = ClientOptions {
        retry: defaults.retry.scaled(args.retry_scale),
        replication: defaults.replication.scaled(args.retry_scale),
        request_timeout: defaults.request_timeout.mul_f64(args.retry_scale).max(Duration::from_secs(5)),
        sweep_partitions,
        write_budget: (f64::from(defaults.write_budget) * args.write_quota_scale).round().max(1.0) as u32,
        ..defaults
    };
    let cloud = endpoint.cloud;
    let mut tenant = GraphTenant::new(endpoint, tokens, options, args.tenant_id.clone())?;
    if args.azure_role_assignments() {
        tenant = tenant.with_azure(arm_client(args, cloud, &sign_in, &env)?);
    }
    Ok(Box::new(tenant))
}

/// The variable that hands the tool a ready bearer token for Azure Resource
/// Manager, beside `ENTRA_CSA_ACCESS_TOKEN` (a Graph token, which Resource
/// Manager refuses).
pub const ARM_ACCESS_TOKEN_ENV: &str = "ENTRA_CSA_ARM_ACCESS_TOKEN";

/// Azure Resource Manager for `--azure-role-assignments`: the root from
/// `--cloud` / `--arm-url`, and a token from the same sign-in as Graph's
/// (for Resource Manager's scope). A fixed token comes from
/// `ENTRA_CSA_ARM_ACCESS_TOKEN`, or on loopback from `ENTRA_CSA_ACCESS_TOKEN`
/// as for Graph.
pub fn arm_client(
    args: &TargetArgs,
    cloud: Cloud,
    sign_in: &auth::SignIn,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::azure::ArmClient> {
    let arm =
        crate::azure::endpoint::resolve(cloud, args.arm_url().as_deref(), args.allow_custom_graph_host)?;
    tracing::info!(arm = %arm.display_root(), "Azure Resource Manager");
    let tokens = match sign_in {
        auth::SignIn::AccessToken => {
            let given = env(ARM_ACCESS_TOKEN_ENV).filter(|token| !token.trim().is_empty());
            let given = given.or_else(|| {
                arm.is_loopback()
                    .then(|| env(auth::ACCESS_TOKEN_ENV))
                    .flatten()
                    .filter(|token| !token.trim().is_empty())
            });
            match given {
                Some(token) => auth::TokenSource::Fixed(auth::BearerToken::new(token.trim())),
                None => anyhow::bail!(
                    "--azure-role-assignments with {}: set {ARM_ACCESS_TOKEN_ENV} to a token for Azure Resource \
                     Manager ({}), or sign in another way so the tool can get one",
                    auth::ACCESS_TOKEN_ENV,
                    arm.scope
                ),
            }
        }
        other => auth::token_source(other, cloud, &arm.scope, env)?,
    };
    Ok(crate::azure::ArmClient::new(arm, tokens, args.retry_scale)?)
}

/// `tokens`, which on failure list every sign-in method when `--auth auto`
/// found none configured (a newcomer's first run), not only the last one.
pub fn with_sign_in_advice(
    tokens: auth::TokenSource,
    args: &TargetArgs,
    sign_in: &auth::SignIn,
    endpoint: &endpoint::GraphEndpoint,
) -> auth::TokenSource {
    if args.auth == AuthFlag::Auto && *sign_in == auth::SignIn::DeveloperTools {
        tokens.with_advice(auth::auto_sign_in_advice(endpoint::is_loopback(&endpoint.root)))
    } else {
        tokens
    }
}

/// The target flags that reach the target a saved plan records: its state
/// file, or its Graph root (and the cloud whose root it is) and tenant id.
/// How to sign in (`--auth`, `--client-id`) and a tenant id given now stay.
pub fn args_for_saved_target(args: &TargetArgs, saved: &JsonTarget) -> TargetArgs {
    let mut reached = args.clone();
    match saved {
        JsonTarget::StateFile { path } => reached.state = Some(PathBuf::from(path)),
        JsonTarget::Graph { graph_url, tenant_id } => {
            let root = graph_url.trim_end_matches('/');
            reached.cloud = CloudFlag::value_variants()
                .iter()
                .copied()
                .find(|flag| Cloud::from(*flag).graph_root().eq_ignore_ascii_case(root));
            reached.graph_url = Some(graph_url.clone());
            if reached.tenant_id.is_none() {
                reached.tenant_id.clone_from(tenant_id);
            }
        }
    }
    reached
}

/// Whether a plan made for `saved` is for the tenant `now`: the same state
/// file however its path is spelt (compared once made absolute, through
/// symbolic links), or the same Graph root and, where both know it, the same
/// tenant id.
pub fn is_same_target(saved: &JsonTarget, now: &Target) -> bool {
    match (saved, now) {
        (JsonTarget::StateFile { path: saved }, Target::StateFile { path: now }) => {
            normalised_path(Path::new(saved)) == normalised_path(Path::new(now))
        }
        (
            JsonTarget::Graph { graph_url: saved_url, tenant_id: saved_tenant },
            Target::Graph { graph_url: now_url, tenant_id: now_tenant },
        ) => {
            let root = |url: &str| match url::Url::parse(url) {
                Ok(parsed) => parsed.as_str().trim_end_matches('/').to_owned(),
                Err(_) => url.trim_end_matches('/').to_owned(),
            };
            let same_tenant = match (saved_tenant, now_tenant) {
                (Some(saved), Some(now)) => saved.eq_ignore_ascii_case(now),
                _ => true,
            };
            root(saved_url) == root(now_url) && same_tenant
        }
        _ => false,
    }
}

/// `path` made absolute against the working folder, with links resolved
/// when it exists.
fn normalised_path(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).or_else(|_| std::path::absolute(path)).unwrap_or_else(|_| path.to_path_buf())
}

/// The target as a person would type it: `--state FILE` or `--graph-url URL`.
pub fn describe(target: &JsonTarget) -> String {
    match target {
        JsonTarget::StateFile { path } => format!("the state file {path}"),
        JsonTarget::Graph { graph_url, tenant_id: Some(tenant) } => {
            format!("Microsoft Graph at {graph_url} (tenant {tenant})")
        }
        JsonTarget::Graph { graph_url, tenant_id: None } => format!("Microsoft Graph at {graph_url}"),
    }
}
