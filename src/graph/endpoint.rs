//! Where Graph lives: the service root of each national cloud, the token
//! scope that goes with it, and the checks on `--graph-url` (plain `http://`
//! only on loopback; a host that is no Microsoft Graph root only when asked
//! for), so a token is never sent somewhere it was not meant to go.

use std::net::IpAddr;

use url::Url;

/// A national cloud: where its Graph lives and where its tokens come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Global,
    Usgov,
    UsgovDod,
    China,
}

/// A resolved Graph service: the root (no `/v1.0`) and the token scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEndpoint {
    /// The service root as given, without a trailing slash, e.g. `https://graph.microsoft.com`.
    pub root: Url,
    /// `{root}/.default`, or the cloud's scope for a loopback emulator.
    pub scope: String,
    /// The national cloud the token comes from.
    pub cloud: Cloud,
}

/// Why `--graph-url` or `--cloud` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("--graph-url `{0}` is not a URL: {1}")]
    NotAUrl(String, String),
    #[error("--graph-url `{0}`: only https:// and http:// are supported")]
    Scheme(String),
    #[error(
        "--graph-url `{0}`: plain http:// is only allowed for a loopback host (127.0.0.1, ::1, localhost)"
    )]
    PlainHttp(String),
    #[error(
        "--graph-url `{0}`: `{1}` is not a Microsoft Graph service root; pass --allow-custom-graph-host \
         if you really mean to send tokens there"
    )]
    CustomHost(String, String),
    #[error("--graph-url `{0}`: give the service root only (no query, fragment or credentials)")]
    Extra(String),
}

impl Cloud {
    /// The Graph service root of the cloud (C-DEP: https://learn.microsoft.com/graph/deployments).
    pub fn graph_root(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::Usgov => "https://graph.microsoft.us",
            Cloud::UsgovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The token scope of the cloud's Graph.
    pub fn graph_scope(self) -> String {
        format!("{}/.default", self.graph_root())
    }
}

const KNOWN_HOSTS: [&str; 4] = [
    "graph.microsoft.com",
    "graph.microsoft.us",
    "dod-graph.microsoft.us",
    "microsoftgraph.chinacloudapi.cn",
];

/// Whether `url`'s host is the local machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => IpAddr::V4(address).is_loopback(),
        Some(url::Host::Ipv6(address)) => IpAddr::V6(address).is_loopback(),
        None => false,
    }
}

/// The endpoint the flags name. `graph_url` overrides the cloud's root; the
/// scope follows the root for Microsoft hosts and the cloud otherwise.
pub fn resolve(
    cloud: Cloud,
    graph_url: Option<&str>,
    allow_custom_host: bool,
) -> Result<GraphEndpoint, EndpointError> {
    let Some(given) = graph_url.map(str::trim).filter(|given| !given.is_empty()) else {
        let root = Url::parse(cloud.graph_root()).expect("cloud roots are valid URLs");
        return Ok(GraphEndpoint { root, scope: cloud.graph_scope(), cloud });
    };
    let mut root =
        Url::parse(given).map_err(|error| EndpointError::NotAUrl(given.into(), error.to_string()))?;
    if root.query().is_some()
        || root.fragment().is_some()
        || !root.username().is_empty()
        || root.password().is_some()
    {
        return Err(EndpointError::Extra(given.into()));
    }
    let loopback = is_loopback(&root);
    match root.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(EndpointError::PlainHttp(given.into())),
        _ => return Err(EndpointError::Scheme(given.into())),
    }
    let host = root.host_str().unwrap_or_default().to_ascii_lowercase();
    let known = KNOWN_HOSTS.contains(&host.as_str());
    if !known && !loopback && !allow_custom_host {
        return Err(EndpointError::CustomHost(given.into(), host));
    }
    let path = root.path().trim_end_matches('/').trim_end_matches("/v1.0").trim_end_matches('/').to_owned();
    root.set_path(&path);
    let scope = if known { format!("https://{host}/.default") } else { cloud.graph_scope() };
    Ok(GraphEndpoint { root, scope, cloud })
}

impl GraphEndpoint {
    /// The v1.0 base, always ending in `/v1.0/`.
    pub fn v1(&self) -> Url {
        let mut base = self.root.clone();
        let path = format!("{}/v1.0/", base.path().trim_end_matches('/'));
        base.set_path(&path);
        base
    }

    /// The beta base, always ending in `/beta/`: read only where a field
    /// exists nowhere else (the agent fields of Conditional Access policies).
    pub fn beta(&self) -> Url {
        let mut base = self.root.clone();
        let path = format!("{}/beta/", base.path().trim_end_matches('/'));
        base.set_path(&path);
        base
    }

    /// The root as the plan records it, without a trailing slash.
    pub fn display_root(&self) -> String {
        self.root.as_str().trim_end_matches('/').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cloud_has_its_root_and_scope() {
        for (cloud, root) in [
            (Cloud::Global, "https://graph.microsoft.com"),
            (Cloud::Usgov, "https://graph.microsoft.us"),
            (Cloud::UsgovDod, "https://dod-graph.microsoft.us"),
            (Cloud::China, "https://microsoftgraph.chinacloudapi.cn"),
        ] {
            let endpoint = resolve(cloud, None, false).unwrap();
            assert_eq!(endpoint.display_root(), root);
            assert_eq!(endpoint.scope, format!("{root}/.default"));
            assert_eq!(endpoint.v1().as_str(), format!("{root}/v1.0/"));
        }
    }

    #[test]
    fn graph_url_overrides_the_root_and_sets_the_scope() {
        let endpoint = resolve(Cloud::Global, Some("https://graph.microsoft.us/v1.0/"), false).unwrap();
        assert_eq!(endpoint.display_root(), "https://graph.microsoft.us");
        assert_eq!(endpoint.scope, "https://graph.microsoft.us/.default");
    }

    #[test]
    fn plain_http_only_on_loopback() {
        for loopback in ["http://127.0.0.1:8790", "http://localhost:1", "http://[::1]:9"] {
            let endpoint = resolve(Cloud::Global, Some(loopback), false).unwrap();
            assert_eq!(endpoint.scope, "https://graph.microsoft.com/.default");
        }
        assert!(matches!(
            resolve(Cloud::Global, Some("http://graph.microsoft.com"), true),
            Err(EndpointError::PlainHttp(_))
        ));
        assert!(matches!(
            resolve(Cloud::Global, Some("http://10.0.0.1"), true),
            Err(EndpointError::PlainHttp(_))
        ));
        assert!(matches!(
            resolve(Cloud::Global, Some("ftp://127.0.0.1"), true),
            Err(EndpointError::Scheme(_))
        ));
    }

    #[test]
    fn custom_hosts_need_the_flag() {
        assert!(matches!(
            resolve(Cloud::Global, Some("https://graph.example.com"), false),
            Err(EndpointError::CustomHost(_, _))
        ));
        let endpoint = resolve(Cloud::Usgov, Some("https://graph.example.com/base"), true).unwrap();
        assert_eq!(endpoint.v1().as_str(), "https://graph.example.com/base/v1.0/");
        assert_eq!(endpoint.scope, "https://graph.microsoft.us/.default");
        assert!(matches!(
            resolve(Cloud::Global, Some("https://user:pw@graph.microsoft.com"), false),
            Err(EndpointError::Extra(_))
        ));
        assert!(matches!(
            resolve(Cloud::Global, Some("not a url"), false),
            Err(EndpointError::NotAUrl(_, _))
        ));
    }
}
