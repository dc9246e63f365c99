//! Where Azure Resource Manager lives: the root of each national cloud, the
//! token scope that goes with it, and the checks on `--arm-url` (the same as
//! on `--graph-url`: plain `http://` only on loopback, another host only
//! when asked for), so a token is never sent somewhere it was not meant to go.
//!
//! The roots are Microsoft's
//! (<https://learn.microsoft.com/azure/azure-government/compare-azure-government-global-azure>,
//! <https://learn.microsoft.com/azure/china/resources-developer-guide>): Azure
//! Government serves both its clouds from one Resource Manager.

use url::Url;

use crate::graph::endpoint::{Cloud, is_loopback};

/// A resolved Azure Resource Manager: the root and the token scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmEndpoint {
    pub root: Url,
    /// `{root}/.default` of the cloud's Resource Manager.
    pub scope: String,
}

/// Why `--arm-url` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArmEndpointError {
    #[error("--arm-url `{0}` is not a URL: {1}")]
    NotAUrl(String, String),
    #[error("--arm-url `{0}`: only https:// and http:// are supported")]
    Scheme(String),
    #[error("--arm-url `{0}`: plain http:// is only allowed for a loopback host (127.0.0.1, ::1, localhost)")]
    PlainHttp(String),
    #[error(
        "--arm-url `{0}`: `{1}` is not an Azure Resource Manager root; pass --allow-custom-graph-host \
         if you really mean to send tokens there"
    )]
    CustomHost(String, String),
    #[error("--arm-url `{0}`: give the root only (no query, fragment or credentials)")]
    Extra(String),
}

/// The Resource Manager root of a cloud.
pub fn arm_root(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Global => "https://management.azure.com",
        Cloud::Usgov | Cloud::UsgovDod => "https://management.usgovcloudapi.net",
        Cloud::China => "https://management.chinacloudapi.cn",
    }
}

const KNOWN_HOSTS: [&str; 3] =
    ["management.azure.com", "management.usgovcloudapi.net", "management.chinacloudapi.cn"];

/// The endpoint the flags name: `arm_url` overrides the cloud's root; the
/// scope follows the root for Microsoft hosts and the cloud otherwise.
pub fn resolve(
    cloud: Cloud,
    arm_url: Option<&str>,
    allow_custom_host: bool,
) -> Result<ArmEndpoint, ArmEndpointError> {
    let scope_of = |root: &str| format!("{root}/.default");
    let Some(given) = arm_url.map(str::trim).filter(|given| !given.is_empty()) else {
        let root = Url::parse(arm_root(cloud)).expect("cloud roots are valid URLs");
        return Ok(ArmEndpoint { root, scope: scope_of(arm_root(cloud)) });
    };
    let mut root =
        Url::parse(given).map_err(|error| ArmEndpointError::NotAUrl(given.into(), error.to_string()))?;
    if root.query().is_some()
        || root.fragment().is_some()
        || !root.username().is_empty()
        || root.password().is_some()
    {
        return Err(ArmEndpointError::Extra(given.into()));
    }
    let loopback = is_loopback(&root);
    match root.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(ArmEndpointError::PlainHttp(given.into())),
        _ => return Err(ArmEndpointError::Scheme(given.into())),
    }
    let host = root.host_str().unwrap_or_default().to_ascii_lowercase();
    let known = KNOWN_HOSTS.contains(&host.as_str());
    if !known && !loopback && !allow_custom_host {
        return Err(ArmEndpointError::CustomHost(given.into(), host));
    }
    let path = root.path().trim_end_matches('/').to_owned();
    root.set_path(&path);
    let scope = if known { scope_of(&format!("https://{host}")) } else { scope_of(arm_root(cloud)) };
    Ok(ArmEndpoint { root, scope })
}

impl ArmEndpoint {
    /// The root without a trailing slash.
    pub fn display_root(&self) -> String {
        self.root.as_str().trim_end_matches('/').to_owned()
    }

    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cloud_has_its_root_and_scope() {
        let global = resolve(Cloud::Global, None, false).unwrap();
        assert_eq!(global.display_root(), "https://management.azure.com");
        assert_eq!(global.scope, "https://management.azure.com/.default");
        assert_eq!(
            resolve(Cloud::UsgovDod, None, false).unwrap().scope,
            "https://management.usgovcloudapi.net/.default"
        );
        assert_eq!(
            resolve(Cloud::China, None, false).unwrap().scope,
            "https://management.chinacloudapi.cn/.default"
        );
    }

    #[test]
    fn arm_url_is_checked_as_graph_url_is() {
        let local = resolve(Cloud::Global, Some("http://127.0.0.1:8790/"), false).unwrap();
        assert_eq!(local.display_root(), "http://127.0.0.1:8790");
        assert!(local.is_loopback());
        assert_eq!(local.scope, "https://management.azure.com/.default");
        assert!(matches!(
            resolve(Cloud::Global, Some("http://10.0.0.1"), true),
            Err(ArmEndpointError::PlainHttp(_))
        ));
        assert!(matches!(
            resolve(Cloud::Global, Some("https://arm.example.com"), false),
            Err(ArmEndpointError::CustomHost(..))
        ));
        assert!(resolve(Cloud::Global, Some("https://arm.example.com"), true).is_ok());
        assert!(matches!(
            resolve(Cloud::Global, Some("https://u:p@management.azure.com"), false),
            Err(ArmEndpointError::Extra(_))
        ));
        let usgov = resolve(Cloud::Global, Some("https://management.usgovcloudapi.net"), false).unwrap();
        assert_eq!(usgov.scope, "https://management.usgovcloudapi.net/.default");
    }
}
