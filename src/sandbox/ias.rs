//! The simulated Identity Authentication tenant (sap-apis.md section 4):
//! its token endpoint, SCIM users and the Application Directory.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde_json::{Value, json};

use super::Shared;
use crate::store::secrets::random_hex;

use super::wire::{basic, form_value, scim_error, scim_list, token_client};

pub async fn ias_token(
    State(sb): State<Shared>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    fault!(sb, "ias-token");
    let d = &sb.demo;
    if form_value(&form, "client_id") != Some(d.ias_clientid.as_str())
        || form_value(&form, "client_secret") != Some(d.ias_clientsecret.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let t = random_hex(24).unwrap_or_default();
    if let Ok(mut tokens) = sb.tokens.lock() {
        let exp = crate::fmt::now() + 3600;
        tokens.insert(t.clone(), json!({"cid": d.ias_clientid, "exp": exp}));
    }
    Json(json!({"access_token": t, "token_type": "Bearer", "expires_in": 3600})).into_response()
}

pub async fn scim_users(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    fault!(sb, "scim");
    let d = &sb.demo;
    let authed = basic(&headers)
        .is_some_and(|(u, p)| u == d.ias_clientid && p == d.ias_clientsecret)
        || token_client(&sb, &headers).is_some_and(|c| c == d.ias_clientid);
    if !authed {
        return scim_error(StatusCode::UNAUTHORIZED, "", "Authentication failed");
    }
    let users: Vec<Value> = d
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let local = p.email.split('@').next().unwrap_or("");
            json!({
                "id": p.user_uuid, "userName": local, "active": true,
                "name": {"givenName": p.given_name, "familyName": p.family_name},
                "emails": [{"value": p.email, "primary": true}],
                "urn:ietf:params:scim:schemas:extension:sap:2.0:User": {"userUuid": p.user_uuid, "userId": format!("P{:06}", i + 11), "status": "active"},
            })
        })
        .collect();
    let filtered: Vec<Value> = match q.get("filter") {
        None => users,
        Some(f) => {
            let Some((attr, value)) = f
                .split_once(" eq ")
                .map(|(a, v)| (a.trim(), v.trim().trim_matches('"').to_ascii_lowercase()))
            else {
                return scim_error(
                    StatusCode::BAD_REQUEST,
                    "invalidFilter",
                    "only 'attribute eq \"value\"' is supported",
                );
            };
            users
                .into_iter()
                .filter(|u| match attr {
                    "emails.value" => u["emails"][0]["value"]
                        .as_str()
                        .is_some_and(|e| e.eq_ignore_ascii_case(&value)),
                    "userName" => u["userName"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&value)),
                    _ => false,
                })
                .collect()
        }
    };
    let body = scim_list(filtered, &q);
    (
        [(header::CONTENT_TYPE, "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

/// `GET /Applications/v1/`: the IAS Application Directory as SAP's own client
/// for it reads it (SAP/terraform-provider-sap-cloud-identity-services:
/// `applications`, `nextCursor`, the `...sci:1.0:Authentication` extension with
/// `subjectNameIdentifier` and `sapManagedAttributes`). Two applications a
/// page, so a client has to follow the cursor. The subaccount's application
/// names the subaccount in `appTenantId` (the attribute is [U]: the wizard
/// also finds it by name) and sends what the sandbox's `subject` setting says.
pub async fn ias_applications(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    fault!(sb, "applications");
    let d = &sb.demo;
    if !basic(&headers).is_some_and(|(u, p)| u == d.ias_clientid && p == d.ias_clientsecret) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"code": 401, "message": "Authentication failed"}})),
        )
            .into_response();
    }
    let subject = match sb.settings.lock().map(|s| s.subject.clone()) {
        Ok(s) if s == "email" => "mail",
        _ => "userUuid",
    };
    let auth = "urn:sap:identity:application:schemas:extension:sci:1.0:Authentication";
    let apps = [
        json!({"id": "6f1d2c3b-0000-4000-8000-000000000001", "name": "SAP Build Work Zone",
            auth: {"ssoType": "openIdConnect", "subjectNameIdentifier": "mail",
                "sapManagedAttributes": {"type": "subscription", "appTenantId": "9c2e0d1a-0000-4000-8000-0000000000ff"}}}),
        json!({"id": "6f1d2c3b-0000-4000-8000-000000000002", "name": "Time Sheets (customer app)",
            auth: {"ssoType": "saml2", "subjectNameIdentifier": "uid"}}),
        json!({"id": "6f1d2c3b-0000-4000-8000-000000000003", "name": format!("SAP BTP subaccount {}", d.customer),
            auth: {"ssoType": "openIdConnect", "subjectNameIdentifier": subject,
                "sapManagedAttributes": {"type": "xsuaa", "appTenantId": d.subaccount_id, "btpTenantType": "subaccount"}}}),
    ];
    let start: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = apps.iter().skip(start).take(2).cloned().collect();
    let mut body = json!({"totalResults": apps.len(), "itemsPerPage": 2, "applications": page});
    if start + 2 < apps.len() {
        body["nextCursor"] = json!((start + 2).to_string());
    }
    Json(body).into_response()
}
