//! Sign-in: which credential `--auth` names (for `auto`, the first one the
//! environment configures), built with azure_identity 1.x, and the bearer
//! token it yields. azure_identity has no default chain, so the choice is
//! made here, as a pure function of the flags and an environment lookup.
//!
//! A token is held only in `BearerToken`, whose `Debug` prints
//! `<redacted>` and which has no `Display`: it cannot reach output, logs or
//! error messages by accident.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use azure_core::cloud::CloudConfiguration;
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientMethodOptions, ClientOptions};

use crate::graph::endpoint::Cloud;

/// The variable that hands the tool a ready bearer token.
pub const ACCESS_TOKEN_ENV: &str = "ENTRA_CSA_ACCESS_TOKEN";

/// A bearer token. Never printed: `Debug` redacts it and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    pub fn new(token: impl Into<String>) -> Self {
        BearerToken(token.into())
    }

    /// The token itself, for the `Authorization` header and the claims check only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// How the tool signs in, as chosen from the flags and the environment.
/// Holds no secret: those are read when the credential is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// `ENTRA_CSA_ACCESS_TOKEN`.
    AccessToken,
    /// Workload identity federation from a token file (`AZURE_FEDERATED_TOKEN_FILE`).
    WorkloadIdentity { tenant_id: String, client_id: String, token_file: PathBuf },
    /// GitHub Actions OIDC (`ACTIONS_ID_TOKEN_REQUEST_URL` / `_TOKEN`), federated like workload identity.
    GitHubActions { tenant_id: String, client_id: String },
    /// Azure Pipelines service connection (OIDC).
    Pipelines { tenant_id: String, client_id: String, service_connection_id: String },
    /// `AZURE_CLIENT_SECRET`.
    ClientSecret { tenant_id: String, client_id: String },
    /// `AZURE_CLIENT_CERTIFICATE_PATH` (PKCS#12), optional `AZURE_CLIENT_CERTIFICATE_PASSWORD`.
    ClientCertificate { tenant_id: String, client_id: String, path: PathBuf },
    /// The machine's managed identity; a client id selects a user-assigned one.
    ManagedIdentity { client_id: Option<String> },
    /// Azure CLI, then Azure Developer CLI.
    DeveloperTools,
}

impl SignIn {
    /// A name for logs.
    pub fn describe(&self) -> &'static str {
        match self {
            SignIn::AccessToken => "access token from ENTRA_CSA_ACCESS_TOKEN",
            SignIn::WorkloadIdentity { .. } => "workload identity federation",
            SignIn::GitHubActions { .. } => "GitHub Actions OIDC",
            SignIn::Pipelines { .. } => "Azure Pipelines service connection",
            SignIn::ClientSecret { .. } => "client secret",
            SignIn::ClientCertificate { .. } => "client certificate",
            SignIn::ManagedIdentity { .. } => "managed identity",
            SignIn::DeveloperTools => "developer tools (Azure CLI, Azure Developer CLI)",
        }
    }
}

/// Why the tool cannot sign in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("--auth {method}: {missing} is not set")]
    Missing { method: &'static str, missing: String },
    #[error("--auth certificate needs entra-csa built with the `cert-auth` feature (OpenSSL)")]
    CertificateNotBuilt,
    #[error("cannot read {what} {path}: {source}")]
    ReadFile { what: &'static str, path: String, source: std::io::Error },
    #[error("cannot set up sign-in ({method}): {message}")]
    Credential { method: &'static str, message: String },
    #[error("sign-in failed ({method}): {message}{advice}")]
    Token { method: &'static str, message: String, advice: String },
}

/// How to sign in (the command line's `--auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// The first configured of the methods below, in the order `choose` names.
    Auto,
    /// A bearer token from `ENTRA_CSA_ACCESS_TOKEN`.
    Token,
    /// Azure CLI, then Azure Developer CLI.
    Cli,
    /// Client secret.
    Secret,
    /// Client certificate.
    Certificate,
    /// Workload identity federation.
    Workload,
    /// Azure Pipelines service connection.
    Pipelines,
    /// Managed identity of the machine.
    ManagedIdentity,
}

/// Whether this build can sign in with a client certificate.
pub const CERTIFICATE_BUILT: bool = cfg!(feature = "cert-auth");

/// The sign-in `method` names. `tenant_id` / `client_id` come from the flags
/// (which fall back to `AZURE_TENANT_ID` / `AZURE_CLIENT_ID`); `env` looks up
/// the other variables. `auto` takes the first configured of: access token,
/// workload identity, GitHub Actions OIDC, Azure Pipelines, client secret,
/// client certificate, managed identity, developer tools.
pub fn choose(
    method: AuthMethod,
    tenant_id: Option<&str>,
    client_id: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SignIn, AuthError> {
    let set = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let ids = |method: &'static str| -> Result<(String, String), AuthError> {
        let tenant = tenant_id.filter(|id| !id.is_empty()).ok_or_else(|| AuthError::Missing {
            method,
            missing: "--tenant-id (or AZURE_TENANT_ID)".into(),
        })?;
        let client = client_id.filter(|id| !id.is_empty()).ok_or_else(|| AuthError::Missing {
            method,
            missing: "--client-id (or AZURE_CLIENT_ID)".into(),
        })?;
        Ok((tenant.to_owned(), client.to_owned()))
    };
    let require = |method: &'static str, name: &str| {
        set(name).ok_or_else(|| AuthError::Missing { method, missing: name.to_owned() })
    };
    let token = || -> Result<SignIn, AuthError> {
        require("token", ACCESS_TOKEN_ENV)?;
        Ok(SignIn::AccessToken)
    };
    let workload = || -> Result<SignIn, AuthError> {
        let token_file = require("workload", "AZURE_FEDERATED_TOKEN_FILE")?;
        let (tenant_id, client_id) = ids("workload")?;
        Ok(SignIn::WorkloadIdentity { tenant_id, client_id, token_file: PathBuf::from(token_file) })
    };
    let github = || -> Result<SignIn, AuthError> {
        require("workload", "ACTIONS_ID_TOKEN_REQUEST_URL")?;
        require("workload", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")?;
        let (tenant_id, client_id) = ids("workload")?;
        Ok(SignIn::GitHubActions { tenant_id, client_id })
    };
    let pipelines = || -> Result<SignIn, AuthError> {
        require("pipelines", "SYSTEM_OIDCREQUESTURI")?;
        let service_connection_id = require("pipelines", "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID")?;
        require("pipelines", "SYSTEM_ACCESSTOKEN")?;
        let tenant = tenant_id.map(str::to_owned).or_else(|| set("AZURESUBSCRIPTION_TENANT_ID"));
        let client = client_id.map(str::to_owned).or_else(|| set("AZURESUBSCRIPTION_CLIENT_ID"));
        let (tenant_id, client_id) = ids("pipelines").or_else(|error| match (tenant, client) {
            (Some(tenant), Some(client)) => Ok((tenant, client)),
            _ => Err(error),
        })?;
        Ok(SignIn::Pipelines { tenant_id, client_id, service_connection_id })
    };
    let secret = || -> Result<SignIn, AuthError> {
        require("secret", "AZURE_CLIENT_SECRET")?;
        let (tenant_id, client_id) = ids("secret")?;
        Ok(SignIn::ClientSecret { tenant_id, client_id })
    };
    let certificate = || -> Result<SignIn, AuthError> {
        let path = require("certificate", "AZURE_CLIENT_CERTIFICATE_PATH")?;
        if !CERTIFICATE_BUILT {
            return Err(AuthError::CertificateNotBuilt);
        }
        let (tenant_id, client_id) = ids("certificate")?;
        Ok(SignIn::ClientCertificate { tenant_id, client_id, path: PathBuf::from(path) })
    };
    let managed = || SignIn::ManagedIdentity { client_id: client_id.map(str::to_owned) };
    match method {
        AuthMethod::Token => token(),
        AuthMethod::Workload => {
            if set("AZURE_FEDERATED_TOKEN_FILE").is_none() && set("ACTIONS_ID_TOKEN_REQUEST_URL").is_some() {
                github()
            } else {
                workload()
            }
        }
        AuthMethod::Pipelines => pipelines(),
        AuthMethod::Secret => secret(),
        AuthMethod::Certificate => certificate(),
        AuthMethod::ManagedIdentity => Ok(managed()),
        AuthMethod::Cli => Ok(SignIn::DeveloperTools),
        AuthMethod::Auto => {
            if set(ACCESS_TOKEN_ENV).is_some() {
                return token();
            }
            if set("AZURE_FEDERATED_TOKEN_FILE").is_some() {
                return workload();
            }
            if set("ACTIONS_ID_TOKEN_REQUEST_URL").is_some() && client_id.is_some() {
                return github();
            }
            if set("SYSTEM_OIDCREQUESTURI").is_some()
                && set("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID").is_some()
            {
                return pipelines();
            }
            if set("AZURE_CLIENT_SECRET").is_some() {
                return secret();
            }
            if CERTIFICATE_BUILT && set("AZURE_CLIENT_CERTIFICATE_PATH").is_some() {
                return certificate();
            }
            if set("IDENTITY_ENDPOINT").is_some() || set("MSI_ENDPOINT").is_some() {
                return Ok(managed());
            }
            Ok(SignIn::DeveloperTools)
        }
    }
}

/// What to say when `--auth auto` found nothing configured and the developer
/// tools it fell back to failed: every method it tried, in its order, and
/// what configures each; for a loopback Graph (an emulator), that any token
/// works. Starts with a new line, to follow the failure's own message.
pub fn auto_sign_in_advice(loopback: bool) -> String {
    let certificate = if CERTIFICATE_BUILT { "" } else { " (in a build with --features cert-auth)" };
    let mut advice = format!(
        "\n--auth auto found no sign-in configured, so it tried the Azure CLI and Azure Developer CLI \
         last. It tries, in this order:\n\
         \x20 token             ENTRA_CSA_ACCESS_TOKEN: a bearer token for Microsoft Graph\n\
         \x20 workload          AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID, AZURE_CLIENT_ID; or on GitHub \
         Actions with `permissions: id-token: write`, AZURE_TENANT_ID and AZURE_CLIENT_ID\n\
         \x20 pipelines         SYSTEM_OIDCREQUESTURI, AZURESUBSCRIPTION_SERVICE_CONNECTION_ID, \
         SYSTEM_ACCESSTOKEN, AZURE_TENANT_ID, AZURE_CLIENT_ID (an Azure Pipelines workload-identity \
         service connection)\n\
         \x20 secret            AZURE_CLIENT_SECRET, AZURE_TENANT_ID, AZURE_CLIENT_ID\n\
         \x20 certificate       AZURE_CLIENT_CERTIFICATE_PATH, AZURE_TENANT_ID, AZURE_CLIENT_ID{certificate}\n\
         \x20 managed-identity  IDENTITY_ENDPOINT or MSI_ENDPOINT (set by Azure on its hosts)\n\
         \x20 cli               `az login --allow-no-subscriptions`, or `azd auth login`, with `az`/`azd` on PATH\n\
         Set one of them, or pick one with --auth METHOD to be told what it lacks."
    );
    if loopback {
        advice.push_str(
            "\nThis --graph-url is on loopback (an emulator such as `entra-csa emulator`): any \
             ENTRA_CSA_ACCESS_TOKEN works there, e.g. `export ENTRA_CSA_ACCESS_TOKEN=local`.",
        );
    }
    advice
}

/// Where bearer tokens come from.
#[derive(Clone)]
pub enum TokenSource {
    /// A fixed token (`ENTRA_CSA_ACCESS_TOKEN`).
    Fixed(BearerToken),
    /// An azure_identity credential; it caches and refreshes its tokens.
    /// `advice` follows the message when it fails (see `auto_sign_in_advice`).
    Credential { credential: Arc<dyn TokenCredential>, scope: String, method: &'static str, advice: String },
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Fixed(_) => f.write_str("TokenSource::Fixed(<redacted>)"),
            TokenSource::Credential { scope, method, .. } => f
                .debug_struct("TokenSource::Credential")
                .field("method", method)
                .field("scope", scope)
                .finish(),
        }
    }
}

impl TokenSource {
    /// The same source, whose sign-in failure ends with `advice`.
    pub fn with_advice(self, advice: String) -> TokenSource {
        match self {
            TokenSource::Credential { credential, scope, method, .. } => {
                TokenSource::Credential { credential, scope, method, advice }
            }
            fixed @ TokenSource::Fixed(_) => fixed,
        }
    }

    /// A token for the Graph scope.
    pub async fn token(&self) -> Result<BearerToken, AuthError> {
        match self {
            TokenSource::Fixed(token) => Ok(token.clone()),
            TokenSource::Credential { credential, scope, method, advice } => credential
                .get_token(&[scope.as_str()], None)
                .await
                .map(|token| BearerToken::new(token.token.secret()))
                .map_err(|error| AuthError::Token {
                    method,
                    message: error.to_string(),
                    advice: advice.clone(),
                }),
        }
    }
}

fn cloud_configuration(cloud: Cloud) -> Option<Arc<CloudConfiguration>> {
    Some(Arc::new(match cloud {
        Cloud::Global => CloudConfiguration::AzurePublic,
        Cloud::Usgov | Cloud::UsgovDod => CloudConfiguration::AzureGovernment,
        Cloud::China => CloudConfiguration::AzureChina,
    }))
}

/// Builds the token source of `sign_in`; secrets are read from `env` now.
pub fn token_source(
    sign_in: &SignIn,
    cloud: Cloud,
    scope: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<TokenSource, AuthError> {
    let method = sign_in.describe();
    let failed = |error: azure_core::Error| AuthError::Credential { method, message: error.to_string() };
    let client_options = || ClientOptions { cloud: cloud_configuration(cloud), ..ClientOptions::default() };
    let read_env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let credential: Arc<dyn TokenCredential> = match sign_in {
        SignIn::AccessToken => {
            let token = read_env(ACCESS_TOKEN_ENV)
                .ok_or_else(|| AuthError::Missing { method: "token", missing: ACCESS_TOKEN_ENV.into() })?;
            return Ok(TokenSource::Fixed(BearerToken::new(token.trim())));
        }
        SignIn::WorkloadIdentity { tenant_id, client_id, token_file } => {
            azure_identity::WorkloadIdentityCredential::new(Some(
                azure_identity::WorkloadIdentityCredentialOptions {
                    credential_options: azure_identity::ClientAssertionCredentialOptions {
                        client_options: client_options(),
                    },
                    client_id: Some(client_id.clone()),
                    tenant_id: Some(tenant_id.clone()),
                    token_file_path: Some(token_file.clone()),
                },
            ))
            .map_err(failed)?
        }
        SignIn::GitHubActions { tenant_id, client_id } => {
            let assertion = GitHubActionsAssertion {
                request_url: read_env("ACTIONS_ID_TOKEN_REQUEST_URL").unwrap_or_default(),
                request_token: Secret::new(read_env("ACTIONS_ID_TOKEN_REQUEST_TOKEN").unwrap_or_default()),
                http: reqwest::Client::new(),
            };
            azure_identity::ClientAssertionCredential::new(
                tenant_id.clone(),
                client_id.clone(),
                assertion,
                Some(azure_identity::ClientAssertionCredentialOptions { client_options: client_options() }),
            )
            .map_err(failed)?
        }
        SignIn::Pipelines { tenant_id, client_id, service_connection_id } => {
            let system_token = read_env("SYSTEM_ACCESSTOKEN").ok_or_else(|| AuthError::Missing {
                method: "pipelines",
                missing: "SYSTEM_ACCESSTOKEN".into(),
            })?;
            azure_identity::AzurePipelinesCredential::new(
                tenant_id.clone(),
                client_id.clone(),
                service_connection_id,
                Secret::new(system_token),
                Some(azure_identity::AzurePipelinesCredentialOptions {
                    credential_options: azure_identity::ClientAssertionCredentialOptions {
                        client_options: client_options(),
                    },
                }),
            )
            .map_err(failed)?
        }
        SignIn::ClientSecret { tenant_id, client_id } => {
            let secret = read_env("AZURE_CLIENT_SECRET").ok_or_else(|| AuthError::Missing {
                method: "secret",
                missing: "AZURE_CLIENT_SECRET".into(),
            })?;
            azure_identity::ClientSecretCredential::new(
                tenant_id,
                client_id.clone(),
                Secret::new(secret),
                Some(azure_identity::ClientSecretCredentialOptions { client_options: client_options() }),
            )
            .map_err(failed)?
        }
        SignIn::ClientCertificate { tenant_id, client_id, path } => {
            certificate_credential(tenant_id, client_id, path, client_options(), env)?
        }
        SignIn::ManagedIdentity { client_id } => azure_identity::ManagedIdentityCredential::new(Some(
            azure_identity::ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.clone().map(azure_identity::UserAssignedId::ClientId),
                client_options: client_options(),
            },
        ))
        .map_err(failed)?,
        SignIn::DeveloperTools => azure_identity::DeveloperToolsCredential::new(None).map_err(failed)?,
    };
    Ok(TokenSource::Credential { credential, scope: scope.to_owned(), method, advice: String::new() })
}

#[cfg(feature = "cert-auth")]
fn certificate_credential(
    tenant_id: &str,
    client_id: &str,
    path: &std::path::Path,
    client_options: ClientOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn TokenCredential>, AuthError> {
    let bytes = std::fs::read(path).map_err(|source| AuthError::ReadFile {
        what: "client certificate",
        path: path.display().to_string(),
        source,
    })?;
    let password =
        env("AZURE_CLIENT_CERTIFICATE_PASSWORD").filter(|value| !value.is_empty()).map(Secret::new);
    let credential = azure_identity::ClientCertificateCredential::new(
        tenant_id.to_owned(),
        client_id.to_owned(),
        azure_core::credentials::SecretBytes::new(bytes),
        Some(azure_identity::ClientCertificateCredentialOptions { client_options, password }),
    )
    .map_err(|error| AuthError::Credential { method: "client certificate", message: error.to_string() })?;
    Ok(credential)
}

#[cfg(not(feature = "cert-auth"))]
fn certificate_credential(
    _tenant_id: &str,
    _client_id: &str,
    _path: &std::path::Path,
    _client_options: ClientOptions,
    _env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn TokenCredential>, AuthError> {
    Err(AuthError::CertificateNotBuilt)
}

/// The GitHub Actions OIDC token, fetched for Entra's token exchange audience.
struct GitHubActionsAssertion {
    request_url: String,
    request_token: Secret,
    http: reqwest::Client,
}

impl fmt::Debug for GitHubActionsAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GitHubActionsAssertion")
    }
}

#[async_trait]
impl azure_identity::ClientAssertion for GitHubActionsAssertion {
    async fn secret(&self, _options: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        #[derive(serde::Deserialize)]
        struct Answer {
            value: String,
        }
        let failed = |message: String| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, message)
        };
        let answer = self
            .http
            .get(&self.request_url)
            .query(&[("audience", "api://AzureADTokenExchange")])
            .bearer_auth(self.request_token.secret())
            .send()
            .await
            .map_err(|error| failed(format!("GitHub OIDC token request failed: {}", error.without_url())))?;
        if !answer.status().is_success() {
            return Err(failed(format!("GitHub OIDC token request answered {}", answer.status())));
        }
        let answer: Answer = answer
            .json()
            .await
            .map_err(|_| failed("GitHub OIDC token answer is not the expected JSON".into()))?;
        Ok(answer.value)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name: &str| map.get(name).cloned()
    }

    const T: Option<&str> = Some("00000000-0000-0000-0000-00000000000a");
    const C: Option<&str> = Some("00000000-0000-0000-0000-00000000000b");

    #[test]
    fn auto_prefers_the_access_token_over_everything() {
        let env = env_of(&[
            (ACCESS_TOKEN_ENV, "x"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/f"),
            ("AZURE_CLIENT_SECRET", "s"),
            ("IDENTITY_ENDPOINT", "http://169.254.169.254"),
        ]);
        assert_eq!(choose(AuthMethod::Auto, T, C, &env).unwrap(), SignIn::AccessToken);
    }

    #[test]
    fn auto_follows_the_documented_order() {
        let env = env_of(&[("AZURE_FEDERATED_TOKEN_FILE", "/f"), ("AZURE_CLIENT_SECRET", "s")]);
        assert!(matches!(choose(AuthMethod::Auto, T, C, &env).unwrap(), SignIn::WorkloadIdentity { .. }));
        let env = env_of(&[
            ("SYSTEM_OIDCREQUESTURI", "https://dev.azure.com/x"),
            ("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "sc"),
            ("SYSTEM_ACCESSTOKEN", "t"),
            ("AZURE_CLIENT_SECRET", "s"),
        ]);
        assert!(matches!(
            choose(AuthMethod::Auto, T, C, &env).unwrap(),
            SignIn::Pipelines { service_connection_id, .. } if service_connection_id == "sc"
        ));
        let env = env_of(&[("AZURE_CLIENT_SECRET", "s"), ("MSI_ENDPOINT", "http://x")]);
        assert!(matches!(choose(AuthMethod::Auto, T, C, &env).unwrap(), SignIn::ClientSecret { .. }));
        let env = env_of(&[("MSI_ENDPOINT", "http://x")]);
        assert_eq!(
            choose(AuthMethod::Auto, None, C, &env).unwrap(),
            SignIn::ManagedIdentity { client_id: C.map(str::to_owned) }
        );
        assert_eq!(choose(AuthMethod::Auto, T, C, &env_of(&[])).unwrap(), SignIn::DeveloperTools);
        let env =
            env_of(&[("ACTIONS_ID_TOKEN_REQUEST_URL", "https://x"), ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t")]);
        assert!(matches!(choose(AuthMethod::Auto, T, C, &env).unwrap(), SignIn::GitHubActions { .. }));
    }

    #[test]
    fn certificate_only_when_built() {
        let env = env_of(&[("AZURE_CLIENT_CERTIFICATE_PATH", "/c.pfx")]);
        let chosen = choose(AuthMethod::Auto, T, C, &env).unwrap();
        if CERTIFICATE_BUILT {
            assert!(matches!(chosen, SignIn::ClientCertificate { .. }));
        } else {
            assert_eq!(chosen, SignIn::DeveloperTools);
            assert!(matches!(
                choose(AuthMethod::Certificate, T, C, &env),
                Err(AuthError::CertificateNotBuilt)
            ));
        }
    }

    #[test]
    fn explicit_methods_name_what_is_missing() {
        let error = choose(AuthMethod::Secret, T, C, &env_of(&[])).unwrap_err().to_string();
        assert_eq!(error, "--auth secret: AZURE_CLIENT_SECRET is not set");
        let error = choose(AuthMethod::Secret, None, C, &env_of(&[("AZURE_CLIENT_SECRET", "s")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("--tenant-id"), "{error}");
        let error =
            choose(AuthMethod::Token, T, C, &env_of(&[(ACCESS_TOKEN_ENV, "  ")])).unwrap_err().to_string();
        assert!(error.contains(ACCESS_TOKEN_ENV), "{error}");
    }

    #[test]
    fn tokens_never_print() {
        let token = BearerToken::new("sentinel-secret-123");
        assert!(!format!("{token:?}").contains("sentinel"));
        let source = TokenSource::Fixed(token);
        assert!(!format!("{source:?}").contains("sentinel"));
    }

    #[tokio::test]
    async fn the_fixed_token_comes_from_the_environment() {
        let env = env_of(&[(ACCESS_TOKEN_ENV, " abc \n")]);
        let source = token_source(&SignIn::AccessToken, Cloud::Global, "s", &env).unwrap();
        assert_eq!(source.token().await.unwrap().expose(), "abc");
    }

    #[test]
    fn credentials_build_without_network() {
        let env = env_of(&[("AZURE_CLIENT_SECRET", "s")]);
        let sign_in = choose(AuthMethod::Secret, T, C, &env).unwrap();
        assert!(token_source(&sign_in, Cloud::Usgov, "https://graph.microsoft.us/.default", &env).is_ok());
        assert!(token_source(&SignIn::DeveloperTools, Cloud::Global, "s", &env).is_ok());
    }
}
