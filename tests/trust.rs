//! Errors that no retry heals fail at once, with a hint: the `roster` binary against a
//! local TLS server whose certificate a test CA signs (trusted through `SSL_CERT_FILE`,
//! or not at all), an expired certificate, a plain-HTTP port spoken to in TLS, and a
//! local proxy that refuses to tunnel. Everything listens on loopback.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use roster_emulator::EmulatorConfig;
use support::{Server, roster, run, workdir_with_example};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A test CA and a certificate it signs for `localhost`.
struct Pki {
    ca_pem: String,
    leaf: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

fn pki(expired: bool) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "roster test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    if expired {
        leaf_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        leaf_params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        ca_pem: ca.pem(),
        leaf: leaf.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    }
}

/// A TLS front for the emulator: terminates TLS with `pki`'s certificate and passes the
/// bytes on. Counts the connections it accepted.
fn tls_front(server: &Server, pki: &Pki) -> (u16, Arc<AtomicUsize>) {
    let backend: SocketAddr =
        server.url().trim_start_matches("http://").split('/').next().unwrap().parse().unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.leaf.clone()], pki.key.clone_key())
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = server.runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    server.runtime.spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else { return };
                let Ok(mut plain) = TcpStream::connect(backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (port, accepted)
}

/// A proxy that refuses every `CONNECT`, as one does for a host it does not allow.
fn refusing_proxy(server: &Server) -> (u16, Arc<AtomicUsize>) {
    let listener = server.runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    server.runtime.spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = vec![0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").await;
            });
        }
    });
    (port, asked)
}

/// `roster plan` against `url`, with no proxy and no extra trust unless `env` adds them.
fn plan(server: &Server, url: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let dir = workdir_with_example();
    let mut command = roster(Some(server), dir.path());
    command.env("ROSTER_SCIM_URL", url);
    for name in ["SSL_CERT_FILE", "SSL_CERT_DIR", "NO_PROXY", "no_proxy"] {
        command.env_remove(name);
    }
    for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    run(command.args(["plan"]))
}

#[test]
fn an_untrusted_certificate_fails_at_once_and_ssl_cert_file_trusts_it() {
    let server = Server::start(EmulatorConfig::default());
    let pki = pki(false);
    let (port, accepted) = tls_front(&server, &pki);
    let url = format!("https://localhost:{port}/scim/v2");

    let (code, _, stderr) = plan(&server, &url, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("the server's TLS certificate is not trusted"), "{stderr}");
    assert!(stderr.contains("SSL_CERT_FILE") && stderr.contains("system trust store"), "{stderr}");
    // One connection for /ServiceProviderConfig (optional, so its failure is only
    // logged) and one for the first page: neither retried.
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "not retried: {stderr}");

    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("corporate-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let (code, stdout, stderr) = plan(&server, &url, &[("SSL_CERT_FILE", ca_file.to_str().unwrap())]);
    assert_eq!(code, 0, "trusted through SSL_CERT_FILE:\n{stdout}\n{stderr}");
    assert!(!server.log().is_empty(), "the requests reached the emulator through TLS");

    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let (code, _, stderr) = plan(&server, &url, &[("SSL_CERT_FILE", not_pem.to_str().unwrap())]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not.pem") && stderr.contains("SSL_CERT_FILE"), "{stderr}");
}

#[test]
fn an_expired_certificate_fails_at_once() {
    let server = Server::start(EmulatorConfig::default());
    let pki = pki(true);
    let (port, accepted) = tls_front(&server, &pki);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let url = format!("https://localhost:{port}/scim/v2");
    let (code, _, stderr) = plan(&server, &url, &[("SSL_CERT_FILE", ca_file.to_str().unwrap())]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("has expired or is not valid yet") && stderr.contains("clock"), "{stderr}");
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "not retried: {stderr}");
}

#[test]
fn tls_to_a_plain_http_port_fails_at_once() {
    let server = Server::start(EmulatorConfig::default());
    let url = server.url().replace("http://127.0.0.1", "https://localhost");
    let (code, _, stderr) = plan(&server, &url, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("the TLS handshake failed"), "{stderr}");
}

#[test]
fn a_refusing_proxy_fails_at_once_naming_https_proxy_and_no_proxy() {
    let server = Server::start(EmulatorConfig::default());
    let pki = pki(false);
    let (port, accepted) = tls_front(&server, &pki);
    let (proxy_port, asked) = refusing_proxy(&server);
    let url = format!("https://localhost:{port}/scim/v2");
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let (code, _, stderr) = plan(&server, &url, &[("HTTPS_PROXY", &proxy)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("the proxy refused"), "{stderr}");
    assert!(stderr.contains("HTTPS_PROXY") && stderr.contains("NO_PROXY"), "{stderr}");
    assert_eq!(asked.load(Ordering::SeqCst), 2, "not retried: {stderr}");
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "nothing went around the proxy");
}
