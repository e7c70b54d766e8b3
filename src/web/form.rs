//! Extracts any submitted form (urlencoded or multipart) into a `FormInput`.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::error::AppError;
use crate::playbook::FormInput;

pub struct Submitted(pub FormInput);

fn rejection(status: StatusCode, what: String) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge
    } else {
        AppError::BadRequest(what)
    }
}

impl<S: Send + Sync> FromRequest<S> for Submitted {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        let mut input = FormInput::default();
        if multipart {
            let mut mp = Multipart::from_request(req, state)
                .await
                .map_err(|r| rejection(r.status(), r.body_text()))?;
            loop {
                let field = match mp.next_field().await {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) => return Err(rejection(e.status(), e.body_text())),
                };
                let name = field.name().unwrap_or("").to_string();
                let is_file = field.file_name().is_some();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| rejection(e.status(), e.body_text()))?;
                if is_file {
                    input.files.push((name, bytes.to_vec()));
                } else {
                    input
                        .values
                        .push((name, String::from_utf8_lossy(&bytes).into_owned()));
                }
            }
        } else {
            let axum::Form(values) = axum::Form::<Vec<(String, String)>>::from_request(req, state)
                .await
                .map_err(|r| {
                    let status = r.status();
                    let text = r.into_response().status().to_string();
                    rejection(status, format!("the form could not be read ({text})"))
                })?;
            input.values = values;
        }
        Ok(Submitted(input))
    }
}
