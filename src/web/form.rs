//! Extracts any submitted form (urlencoded or multipart) into a `FormInput`.
//! Over the body limit is a 413 page however the body came (declared length
//! or chunked); text that is not UTF-8 is refused, never silently replaced.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};

use super::error::AppError;
use crate::playbook::FormInput;

pub struct Submitted(pub FormInput);

fn rejection(status: StatusCode, what: String) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge
    } else {
        AppError::BadRequest(what)
    }
}

fn not_text(field: &str) -> AppError {
    AppError::BadRequest(format!(
        "The field \"{field}\" holds bytes that are not text (UTF-8), so the form was not saved. If you pasted it from another program, paste it as plain text"
    ))
}

/// `application/x-www-form-urlencoded`, decoded strictly.
fn parse_urlencoded(body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    let decode = |raw: &[u8]| -> Option<String> {
        let plus: Vec<u8> = raw
            .iter()
            .map(|b| if *b == b'+' { b' ' } else { *b })
            .collect();
        let bytes: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
        String::from_utf8(bytes).ok()
    };
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            let key = decode(k).ok_or_else(|| not_text(&String::from_utf8_lossy(k)))?;
            let value = decode(v).ok_or_else(|| not_text(&key))?;
            Ok((key, value))
        })
        .collect()
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
                let file_name = field.file_name().map(str::to_string);
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| rejection(e.status(), e.body_text()))?;
                if let Some(file_name) = file_name {
                    input.file_names.push((name.clone(), file_name));
                    input.files.push((name, bytes.to_vec()));
                } else {
                    let text = String::from_utf8(bytes.to_vec()).map_err(|_| not_text(&name))?;
                    input.values.push((name, text));
                }
            }
        } else {
            let body = Bytes::from_request(req, state)
                .await
                .map_err(|r| rejection(r.status(), "the form could not be read".into()))?;
            input.values = parse_urlencoded(&body)?;
        }
        Ok(Submitted(input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_is_strict() {
        let v = parse_urlencoded(b"a=1+2&b=%C3%BC&c&=x").unwrap();
        assert_eq!(
            v,
            vec![
                ("a".into(), "1 2".into()),
                ("b".into(), "ü".into()),
                ("c".into(), "".into()),
                ("".into(), "x".into())
            ]
        );
        assert!(parse_urlencoded(b"name=%FF%FE").is_err());
    }
}
