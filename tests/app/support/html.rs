//! Reading pages: attributes, fields, titles, text between markers.

pub fn version_of(html: &str) -> String {
    attr_after(html, "name=\"_version\" value=\"").expect("version field")
}

pub fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let s = html.find(start)? + start.len();
    let e = html[s..].find(end)? + s;
    Some(&html[s..e])
}

fn attr_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// The values of every checkbox named `name` on a page (a user ticking all).
pub fn checkbox_values(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" type=\"checkbox\" value=\"");
    html.match_indices(&marker)
        .filter_map(|(i, _)| attr_after(&html[i..], &marker))
        .collect()
}

/// The value attribute of the input with the given id.
pub fn input_value(html: &str, id: &str) -> Option<String> {
    let i = html.find(&format!("id=\"{id}\""))?;
    let tag_end = html[i..].find('>')? + i;
    attr_after(&html[i..tag_end], "value=\"")
}

/// The text of the `<title>` element.
pub fn title_of(html: &str) -> String {
    let s = html.find("<title>").map_or(0, |i| i + 7);
    let e = html.find("</title>").unwrap_or(s);
    html[s..e].to_string()
}

/// The fingerprint a plan page's confirmation carries.
pub fn fingerprint(body: &str) -> String {
    between(body, "name=\"fingerprint\" value=\"", "\"")
        .expect("fingerprint")
        .to_string()
}
