//! The web page at `GET /`: a static page, script and style embedded in the binary. The script talks
//! to the same server as supervisorctl does (XML-RPC at `/RPC2`, `/logtail` streams), so the page needs
//! nothing from the supervisor that a remote client would not have. Every asset goes out with a strict
//! Content-Security-Policy: no inline script or style, nothing from another origin, so a program name
//! or log line can at worst show up as odd text.

/// One embedded file.
pub struct Asset {
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// Headers every asset is sent with.
pub const HEADERS: &[(&str, &str)] = &[
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    // The assets change with the binary; revalidating costs one small request.
    ("Cache-Control", "no-cache"),
];

/// The asset served at `path`, if any.
pub fn asset(path: &str) -> Option<Asset> {
    let (content_type, body): (&str, &[u8]) = match path {
        "/" | "/index.html" => ("text/html; charset=utf-8", include_bytes!("web/index.html")),
        "/web/app.js" => (
            "text/javascript; charset=utf-8",
            include_bytes!("web/app.js"),
        ),
        "/web/style.css" => ("text/css; charset=utf-8", include_bytes!("web/style.css")),
        "/web/icon.svg" | "/favicon.ico" => ("image/svg+xml", include_bytes!("web/icon.svg")),
        _ => return None,
    };
    Some(Asset { content_type, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_references_only_embedded_assets_and_no_inline_code() {
        let page = std::str::from_utf8(asset("/").unwrap().body).unwrap();
        for attr in ["src=\"", "href=\""] {
            for (i, _) in page.match_indices(attr) {
                let url = &page[i + attr.len()..];
                let url = &url[..url.find('"').unwrap()];
                assert!(asset(url).is_some(), "{url} is not served");
            }
        }
        // The CSP forbids these; the page would break silently if one crept in.
        assert!(!page.contains("<style"), "inline style element");
        assert!(!page.contains(" style="), "inline style attribute");
        for (i, _) in page.match_indices(" on") {
            let attr: String = page[i + 1..]
                .chars()
                .take_while(char::is_ascii_alphabetic)
                .collect();
            let next = page[i + 1 + attr.len()..].chars().next();
            assert_ne!(next, Some('='), "inline event handler {attr}");
        }
        assert_eq!(page.matches("<script").count(), 1);
        assert!(page.contains("<script src=\"/web/app.js\""));
        let js = std::str::from_utf8(asset("/web/app.js").unwrap().body).unwrap();
        for forbidden in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!js.contains(forbidden), "app.js uses {forbidden}");
        }
    }
}
