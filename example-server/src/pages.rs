//! The site's pages, built into the binary: the forgot-password page, the login page, their
//! scripts and style. No build step; `/` is the login page.

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, header};

struct Page {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const PAGES: &[Page] = &[
    Page {
        path: "/login.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../static/login.html"),
    },
    Page {
        path: "/forgot-password.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../static/forgot-password.html"),
    },
    Page {
        path: "/assets/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../static/assets/style.css"),
    },
    Page {
        path: "/assets/forgot-password.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/assets/forgot-password.js"),
    },
    Page {
        path: "/assets/login.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/assets/login.js"),
    },
];

fn serve(page: &'static Page) -> Response {
    let mut response = page.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(page.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The routes of the pages.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new().route("/", get(|| async { serve(&PAGES[0]) }));
    for page in PAGES {
        router = router.route(page.path, get(move || async move { serve(page) }));
    }
    router
}
