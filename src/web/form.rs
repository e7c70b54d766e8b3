//! Extracts any submitted form (urlencoded or multipart) into a `FormInput`,
//! reading the body as it arrives: a field larger than a field may be is
//! counted, not kept, so the page can answer at that field with everything
//! else kept; past `READ_LIMIT` the answer is the 413 page. Text that is not
//! UTF-8 is refused, never silently replaced.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use futures_util::StreamExt;

use super::error::AppError;
use crate::playbook::FormInput;
use crate::playbook::{FIELD_LIMIT, KEPT_LIMIT};

/// What the server reads of a request at most (then 413): the paste that is
/// too large is read past and dropped so that the page can say so.
pub const READ_LIMIT: usize = 32 * 1024 * 1024;
/// Field names are the wizard's own: short.
const NAME_LIMIT: usize = 256;

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

fn decode(raw: &[u8]) -> Option<String> {
    let plus: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
    String::from_utf8(bytes).ok()
}

/// `application/x-www-form-urlencoded`, fed chunk by chunk. A value is kept
/// while its decoded size is within `FIELD_LIMIT` and the form's within
/// `KEPT_LIMIT`; beyond, only its size is counted.
#[derive(Default)]
struct Urlencoded {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    oversized: Vec<(Vec<u8>, usize)>,
    name: Vec<u8>,
    value: Vec<u8>,
    in_value: bool,
    /// The value's decoded size so far (`%XX` is one byte).
    size: usize,
    escape: u8,
    over: bool,
    kept: usize,
}

impl Urlencoded {
    fn feed(&mut self, chunk: &[u8]) {
        for &b in chunk {
            match b {
                b'&' => self.end_pair(),
                b'=' if !self.in_value => self.in_value = true,
                _ if !self.in_value => {
                    if self.name.len() < NAME_LIMIT {
                        self.name.push(b);
                    }
                }
                _ => {
                    if self.escape > 0 {
                        self.escape -= 1;
                    } else {
                        self.size += 1;
                        if b == b'%' {
                            self.escape = 2;
                        }
                    }
                    if !self.over {
                        if self.size > FIELD_LIMIT || self.kept + self.value.len() >= KEPT_LIMIT {
                            self.over = true;
                            self.value = Vec::new();
                        } else {
                            self.value.push(b);
                        }
                    }
                }
            }
        }
    }

    fn end_pair(&mut self) {
        let name = std::mem::take(&mut self.name);
        let value = std::mem::take(&mut self.value);
        if self.over {
            self.oversized.push((name, self.size));
        } else if !(name.is_empty() && value.is_empty() && !self.in_value) {
            self.kept += name.len() + value.len();
            self.pairs.push((name, value));
        }
        self.in_value = false;
        self.size = 0;
        self.escape = 0;
        self.over = false;
    }

    fn finish(mut self, input: &mut FormInput) -> Result<(), AppError> {
        self.end_pair();
        for (k, v) in self.pairs {
            let key = decode(&k).ok_or_else(|| not_text(&String::from_utf8_lossy(&k)))?;
            let value = decode(&v).ok_or_else(|| not_text(&key))?;
            input.values.push((key, value));
        }
        for (k, size) in self.oversized {
            let key = decode(&k).ok_or_else(|| not_text(&String::from_utf8_lossy(&k)))?;
            input.oversized.push((key, size));
        }
        Ok(())
    }
}

#[cfg(test)]
fn parse_urlencoded(body: &[u8]) -> Result<FormInput, AppError> {
    let mut u = Urlencoded::default();
    // Fed in small pieces, as a body arrives.
    for chunk in body.chunks(7) {
        u.feed(chunk);
    }
    let mut input = FormInput::default();
    u.finish(&mut input)?;
    Ok(input)
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
            let mut kept = 0;
            loop {
                let mut field = match mp.next_field().await {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) => return Err(rejection(e.status(), e.body_text())),
                };
                let name = field.name().unwrap_or("").to_string();
                let file_name = field.file_name().map(str::to_string);
                let (mut bytes, mut size) = (Vec::new(), 0);
                loop {
                    match field.chunk().await {
                        Ok(Some(c)) => {
                            size += c.len();
                            if size <= FIELD_LIMIT && kept + size <= KEPT_LIMIT {
                                bytes.extend_from_slice(&c);
                            } else {
                                bytes = Vec::new();
                            }
                        }
                        Ok(None) => break,
                        Err(e) => return Err(rejection(e.status(), e.body_text())),
                    }
                }
                if size > FIELD_LIMIT || kept + size > KEPT_LIMIT {
                    input.oversized.push((name, size));
                    continue;
                }
                kept += size;
                if let Some(file_name) = file_name {
                    input.file_names.push((name.clone(), file_name));
                    input.files.push((name, bytes));
                } else {
                    let text = String::from_utf8(bytes).map_err(|_| not_text(&name))?;
                    input.values.push((name, text));
                }
            }
        } else {
            let mut form = Urlencoded::default();
            let mut stream = req.into_body().into_data_stream();
            let mut read = 0;
            while let Some(chunk) = stream.next().await {
                let chunk =
                    chunk.map_err(|_| AppError::BadRequest("the form could not be read".into()))?;
                read += chunk.len();
                if read > READ_LIMIT {
                    return Err(AppError::TooLarge);
                }
                form.feed(&chunk);
            }
            form.finish(&mut input)?;
        }
        Ok(Submitted(input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_is_strict() {
        let v = parse_urlencoded(b"a=1+2&b=%C3%BC&c&=x").unwrap().values;
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

    #[test]
    fn a_field_over_its_limit_is_counted_not_kept_and_the_rest_is_kept() {
        let big = "%7B".repeat(FIELD_LIMIT + 10);
        let body = format!("before=1&key={big}&after=2");
        let v = parse_urlencoded(body.as_bytes()).unwrap();
        assert_eq!(v.first("before"), Some("1"));
        assert_eq!(v.first("after"), Some("2"));
        assert_eq!(v.first("key"), None);
        assert_eq!(
            v.oversized,
            vec![("key".to_string(), FIELD_LIMIT + 10)],
            "decoded size counted"
        );
    }
}
