//! The OpenSearch HTTP client: one connection pool, the request timeout, and
//! authentication, over the `opensearch` crate's transport.

use std::time::Duration;

use bytes::Bytes;
use opensearch::auth::Credentials;
use opensearch::cert::{Certificate, CertificateValidation};
use opensearch::http::headers::{CONTENT_TYPE, HeaderMap, HeaderValue};
use opensearch::http::transport::{SingleNodeConnectionPool, Transport, TransportBuilder};
use opensearch::http::{Method, Url};

use crate::config::{OpenSearchAuth, OpenSearchConfig};

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("invalid OpenSearch URL {url:?}: {message}")]
    Url { url: String, message: String },
    #[error("cannot build the OpenSearch client: {0}")]
    Client(String),
    #[error("{method} {path}: {message}")]
    Transport {
        method: &'static str,
        path: String,
        message: String,
    },
    #[error("{method} {path}: HTTP {status}: {body}")]
    Status {
        method: &'static str,
        path: String,
        status: u16,
        body: String,
    },
}

/// A response read to the end.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub body: Bytes,
}

#[derive(Debug, Clone)]
pub struct OpenSearch {
    transport: Transport,
    timeout: Duration,
}

impl OpenSearch {
    /// A client for `config`. `aws` supplies credentials and region for SigV4
    /// and is needed only then.
    pub fn new(
        config: &OpenSearchConfig,
        aws: Option<&aws_config::SdkConfig>,
    ) -> Result<Self, SinkError> {
        let url = Url::parse(&config.url).map_err(|e| SinkError::Url {
            url: config.url.clone(),
            message: e.to_string(),
        })?;
        let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(url))
            .timeout(config.request_timeout)
            .disable_proxy();
        match &config.auth {
            OpenSearchAuth::None => {}
            OpenSearchAuth::Basic { username, password } => {
                builder = builder.auth(Credentials::Basic(username.clone(), password.clone()));
            }
            OpenSearchAuth::SigV4 { service } => {
                let sdk = aws
                    .ok_or_else(|| SinkError::Client("SigV4 needs the AWS configuration".into()))?;
                let credentials = Credentials::try_from(sdk).map_err(|e| {
                    SinkError::Client(format!(
                        "SigV4: no AWS credentials or region (set aws.region): {e}"
                    ))
                })?;
                builder = builder.auth(credentials).service_name(service);
            }
        }
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                SinkError::Client(format!(
                    "reading opensearch.ca_file {}: {e}",
                    path.display()
                ))
            })?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                SinkError::Client(format!(
                    "opensearch.ca_file {} is not a PEM certificate: {e}",
                    path.display()
                ))
            })?;
            builder = builder.cert_validation(CertificateValidation::Full(cert));
        }
        let transport = builder
            .build()
            .map_err(|e| SinkError::Client(e.to_string()))?;
        Ok(OpenSearch {
            transport,
            timeout: config.request_timeout,
        })
    }

    /// Sends a request and reads the whole response. Only transport failures
    /// are errors; any HTTP status is returned for the caller to judge.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        content_type: &'static str,
        body: Option<Vec<u8>>,
    ) -> Result<RawResponse, SinkError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        let method_name = method_name(&method);
        let transport_error = |message: String| SinkError::Transport {
            method: method_name,
            path: path.to_owned(),
            message,
        };
        let response = self
            .transport
            .send(method, path, headers, None::<&()>, body, Some(self.timeout))
            .await
            .map_err(|e| transport_error(crate::telemetry::error_chain(&e)))?;
        let status = response.status_code().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(crate::telemetry::error_chain(&e)))?;
        Ok(RawResponse { status, body })
    }

    /// Like [`OpenSearch::request`] with a JSON body, failing on non-2xx.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<RawResponse, SinkError> {
        let method_name = method_name(&method);
        let response = self.request(method, path, "application/json", body).await?;
        if !(200..300).contains(&response.status) {
            return Err(SinkError::Status {
                method: method_name,
                path: path.to_owned(),
                status: response.status,
                body: String::from_utf8_lossy(&response.body[..response.body.len().min(2000)])
                    .into_owned(),
            });
        }
        Ok(response)
    }

    /// Checks that the cluster answers, for start-up and `/readyz`.
    pub async fn ping(&self) -> Result<(), SinkError> {
        self.json(Method::Get, "/_cluster/health", None)
            .await
            .map(|_| ())
    }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::Get => "GET",
        Method::Put => "PUT",
        Method::Post => "POST",
        Method::Delete => "DELETE",
        Method::Head => "HEAD",
    }
}
