//! What the judge sees of a request — method, the request target (path with query), the
//! authority, the headers — and the header list written back after mismatch actions edited it.

use hyper::header::{HeaderMap, HeaderName, HeaderValue, HOST};
use hyper::Request;
use policyc_backends::l7::L7Request;

/// The judge's view of `request`. The authority is the URI's (HTTP/2 `:authority`, or an
/// absolute-form HTTP/1.1 target), else the `Host` header (Envoy's `:authority` for HTTP/1.1).
pub fn view<B>(request: &Request<B>) -> L7Request {
    let uri = request.uri();
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string());
    let host = uri
        .authority()
        .map(|a| a.as_str().as_bytes().to_vec())
        .or_else(|| request.headers().get(HOST).map(|h| h.as_bytes().to_vec()));
    L7Request {
        method: request.method().as_str().to_string(),
        path,
        host,
        headers: request
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
            .collect(),
    }
}

/// A header a mismatch action wrote that HTTP cannot carry.
#[derive(Debug, thiserror::Error)]
#[error("header `{name}` cannot be sent: {reason}")]
pub struct BadHeader {
    pub name: String,
    pub reason: String,
}

/// Replaces the headers of `request` with the judged list (unchanged unless a mismatch action
/// edited it).
pub fn write_back<B>(request: &mut Request<B>, judged: &L7Request) -> Result<(), BadHeader> {
    let mut headers = HeaderMap::with_capacity(judged.headers.len());
    for (name, value) in &judged.headers {
        let bad = |reason: String| BadHeader {
            name: name.clone(),
            reason,
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let value = HeaderValue::from_bytes(value).map_err(|e| bad(e.to_string()))?;
        headers.append(name, value);
    }
    *request.headers_mut() = headers;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_carries_the_query_and_the_host_comes_from_the_host_header() {
        let request = Request::get("/a/b?x=1")
            .header("Host", "api.shop:8080")
            .header("X-Token", "t")
            .body(())
            .expect("request");
        let v = view(&request);
        assert_eq!(v.method, "GET");
        assert_eq!(v.path, "/a/b?x=1");
        assert_eq!(v.host.as_deref(), Some(&b"api.shop:8080"[..]));
        assert!(v.headers.contains(&("x-token".to_string(), b"t".to_vec())));
    }

    #[test]
    fn an_absolute_target_gives_the_authority() {
        let request = Request::get("http://api.shop/x").body(()).expect("request");
        let v = view(&request);
        assert_eq!(v.host.as_deref(), Some(&b"api.shop"[..]));
        assert_eq!(v.path, "/x");
    }

    #[test]
    fn edited_headers_replace_the_originals_in_order() {
        let mut request = Request::get("/")
            .header("user-agent", "wget")
            .body(())
            .expect("request");
        let mut judged = view(&request);
        judged.headers = vec![
            ("user-agent".into(), b"curl".to_vec()),
            ("x-added".into(), b"1".to_vec()),
        ];
        write_back(&mut request, &judged).expect("valid");
        assert_eq!(request.headers()["user-agent"], "curl");
        assert_eq!(request.headers()["x-added"], "1");
        assert_eq!(request.headers().len(), 2);
    }

    #[test]
    fn a_value_http_cannot_carry_is_an_error() {
        let mut request = Request::get("/").body(()).expect("request");
        let mut judged = view(&request);
        judged.headers = vec![("x".into(), b"a\nb".to_vec())];
        assert!(write_back(&mut request, &judged).is_err());
    }
}
