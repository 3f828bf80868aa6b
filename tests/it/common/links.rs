//! A web server for link checks: each path answers as a real site might.

use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

async fn answer(method: Method, uri: axum::http::Uri) -> Response {
    match uri.path() {
        "/ok" | "/veileder" => StatusCode::OK.into_response(),
        "/borte" => StatusCode::NOT_FOUND.into_response(),
        // Refuses HEAD as some servers do; a GET works.
        "/bare-get" if method == Method::HEAD => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        "/bare-get" => StatusCode::OK.into_response(),
        "/flyttet" => (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/ok")]).into_response(),
        "/sirkel" => (StatusCode::FOUND, [(header::LOCATION, "/sirkel")]).into_response(),
        "/treg" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::OK.into_response()
        }
        "/feil" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Starts the server on 127.0.0.1 and returns its base URL (`http://127.0.0.1:PORT`).
pub async fn start_link_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(any(answer));
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}
