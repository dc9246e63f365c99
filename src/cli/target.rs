//! Which tenant a command talks to: a local state file (`--state FILE`) or
//! Microsoft Graph (the default).

use anyhow::Context;

use crate::cli::arguments::TargetArgs;
use crate::state_file::StateFileTenant;
use crate::tenant::Tenant;

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

/// Microsoft Graph as the tenant.
fn open_graph_tenant(_args: &TargetArgs) -> anyhow::Result<Box<dyn Tenant>> {
    anyhow::bail!("Microsoft Graph target not built yet; use --state FILE for a local state file")
}
