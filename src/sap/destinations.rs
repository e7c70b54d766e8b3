//! The BTP Destination service (sap-apis.md section 3): read, create or update,
//! list, find with token retrieval, and the trust certificate.

use reqwest::Method;
use serde_json::{Map, Value};

use super::{Api, Calls, SapClient, SapError, Service, TokenSession};
use crate::domain::DestinationKey;

pub type Props = Map<String, Value>;

/// An authenticated session with one subaccount's Destination service.
pub type Session<'a> = Api<'a, Destinations>;

/// Marks the Destination service's calls.
pub enum Destinations {}

pub async fn connect<'a>(
    c: &'a SapClient,
    calls: &Calls,
    key: &DestinationKey,
) -> Result<Session<'a>, SapError> {
    let base = format!(
        "{}/destination-configuration/v1",
        key.uri.trim_end_matches('/')
    );
    let creds = (
        key.url.as_str(),
        key.clientid.as_str(),
        key.clientsecret.as_str(),
    );
    TokenSession::connect(c, calls, Service::Destination, base, creds)
        .await
        .map(Api::new)
}

pub enum Upsert {
    Created,
    Updated,
}

impl Session<'_> {
    pub async fn get(&self, calls: &Calls, name: &str) -> Result<Option<Props>, SapError> {
        let resp = self
            .c
            .send(
                calls,
                self.req(
                    Method::GET,
                    &format!("/subaccountDestinations/{name}"),
                    None,
                ),
            )
            .await?;
        match resp.status {
            200 => match resp.json()? {
                Value::Object(m) => Ok(Some(m)),
                _ => Err(SapError::Garbage {
                    what: "a destination that is not a JSON object".into(),
                }),
            },
            404 => Ok(None),
            _ => Err(resp.into_error()),
        }
    }

    /// Read first, then create (POST) or replace (PUT): running it twice leaves one destination.
    /// Create the destination, or replace it when `exists` (as just read).
    pub async fn write(
        &self,
        calls: &Calls,
        props: &Props,
        exists: bool,
    ) -> Result<Upsert, SapError> {
        let body = Value::Object(props.clone());
        let (method, outcome) = if exists {
            (Method::PUT, Upsert::Updated)
        } else {
            (Method::POST, Upsert::Created)
        };
        let resp = self
            .c
            .send(
                calls,
                self.req(method, "/subaccountDestinations", Some(&body)),
            )
            .await?;
        if resp.ok() {
            Ok(outcome)
        } else {
            Err(resp.into_error())
        }
    }

    /// Subaccount and instance destinations, fetched at the same time.
    pub async fn list(&self, calls: &Calls) -> Result<Vec<Props>, SapError> {
        let (a, b) = tokio::join!(
            self.c.send(
                calls,
                self.req(Method::GET, "/subaccountDestinations", None)
            ),
            self.c
                .send(calls, self.req(Method::GET, "/instanceDestinations", None)),
        );
        let mut out = Vec::new();
        for resp in [a?, b?] {
            if !resp.ok() {
                return Err(resp.into_error());
            }
            match resp.json()? {
                Value::Array(items) => out.extend(items.into_iter().filter_map(|v| match v {
                    Value::Object(m) => Some(m),
                    _ => None,
                })),
                _ => {
                    return Err(SapError::Garbage {
                        what: "a destination list that is not an array".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// "Find destination" with token retrieval as a user (B.1 variant b:
    /// the technical token plus `X-user-token`): the error SAP reports when
    /// it cannot get a token for the destination (`None` when it can).
    pub async fn token_error(
        &self,
        calls: &Calls,
        name: &str,
        user_token: &str,
    ) -> Result<Option<String>, SapError> {
        let mut req = self.req(Method::GET, &format!("/destinations/{name}"), None);
        req.headers.push(("X-user-token", user_token));
        let resp = self.c.send(calls, req).await?;
        if !resp.ok() {
            return Err(resp.into_error());
        }
        let v = resp.json()?;
        let first = v
            .get("authTokens")
            .and_then(Value::as_array)
            .and_then(|a| a.first().cloned());
        Ok(match first {
            Some(t) => t.get("error").and_then(Value::as_str).map(str::to_string),
            None => Some("the Destination service returned no token for this destination".into()),
        })
    }

    /// The subaccount's active trust certificate, as PEM.
    pub async fn certificate(&self, calls: &Calls) -> Result<String, SapError> {
        self.trust(calls, Method::GET, Trust::Active)
            .await?
            .ok_or(SapError::Status {
                status: 404,
                message: Some("the subaccount has no trust certificate yet".into()),
            })
    }

    /// The passive trust certificate, if one was generated.
    pub async fn passive_certificate(&self, calls: &Calls) -> Result<Option<String>, SapError> {
        self.trust(calls, Method::GET, Trust::Passive).await
    }

    /// Generate or renew a certificate (sap-apis.md §3): the active one
    /// signs at once; a passive one waits for `rotate`. Returns its PEM.
    pub async fn renew_certificate(&self, calls: &Calls, which: Trust) -> Result<String, SapError> {
        self.trust(calls, Method::POST, which)
            .await?
            .ok_or(SapError::Garbage {
                what: "no certificate after renewing it".into(),
            })
    }

    /// Swap the active and passive certificates; returns the new active one.
    pub async fn rotate_certificate(&self, calls: &Calls) -> Result<String, SapError> {
        self.trust(calls, Method::POST, Trust::Rotate)
            .await?
            .ok_or(SapError::Garbage {
                what: "no certificate after rotating".into(),
            })
    }

    async fn trust(
        &self,
        calls: &Calls,
        method: Method,
        which: Trust,
    ) -> Result<Option<String>, SapError> {
        let path = match which {
            Trust::Active => "/saml2Metadata/certificate",
            Trust::Passive => "/saml2Metadata/certificate/passive",
            Trust::Rotate => "/saml2Metadata/rotateCertificate",
        };
        let resp = self.c.send(calls, self.req(method, path, None)).await?;
        if resp.status == 404 && which == Trust::Passive {
            return Ok(None);
        }
        if !resp.ok() {
            return Err(resp.into_error());
        }
        resp.json()?
            .get("x509PublicKeyBase64")
            .and_then(Value::as_str)
            .map(|p| Some(p.to_string()))
            .ok_or(SapError::Garbage {
                what: "a certificate answer without x509PublicKeyBase64".into(),
            })
    }
}

/// Which trust certificate (or the rotation of both).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    Active,
    Passive,
    Rotate,
}
