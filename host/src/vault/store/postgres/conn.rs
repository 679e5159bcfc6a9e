//! Connections: a small deadpool pool of tokio-postgres clients, driven
//! from the synchronous [`crate::vault::store::Store`] interface.
//!
//! The store is called from plain threads and from inside the command
//! runtime alike, where blocking on another runtime would panic. So each
//! connection's I/O task runs on one private runtime thread (started once
//! per process, never dropped), and callers wait for results without a
//! runtime of their own: a client request is only a message to that task
//! and an answer back, so [`futures_executor::block_on`] on the calling
//! thread is enough. Getting a connection from the pool (which may dial
//! the server) runs on the private runtime.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::StreamExt as _;
use secrecy::ExposeSecret as _;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::tls;
use super::url::PgUrl;
use crate::vault::error::{Result, VaultError};

/// The schema every keeper table lives in (set as the connection's
/// `search_path`, so one database can hold other things too).
pub(super) const SCHEMA: &str = "keeper";

/// Connections kept per process: a CLI process uses one at a time; the
/// rest absorb a broken connection being replaced.
const POOL_SIZE: usize = 4;

/// Parameters of a query.
pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("keeper-postgres")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the PostgreSQL I/O thread: {e}"))
    })
}

/// Runs `fut` on the private runtime and waits for it from any thread.
fn on_runtime<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> Result<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime().spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv()
        .map_err(|_| VaultError::Storage("the PostgreSQL I/O task ended unexpectedly".into()))
}

/// Waits for a client future on this thread (see the module comment).
pub(super) fn wait<T>(fut: impl Future<Output = T>) -> T {
    futures_executor::block_on(fut)
}

/// A pool of connections to one database.
pub(super) struct Connections {
    pool: Pool,
    url: PgUrl,
}

impl Connections {
    /// Builds the pool (no connection is made yet).
    ///
    /// # Errors
    ///
    /// [`VaultError::Invalid`] for a TLS setting that cannot be used.
    pub(super) fn new(url: &PgUrl) -> Result<Self> {
        Self::with_search_path(url, true)
    }

    /// As [`Connections::new`]; without `search_path`, for maintenance
    /// connections (creating and dropping databases).
    pub(super) fn with_search_path(url: &PgUrl, keeper_schema: bool) -> Result<Self> {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host(&url.host)
            .port(url.port)
            .user(&url.user)
            .dbname(&url.dbname)
            .application_name("keeper")
            .connect_timeout(url.connect_timeout);
        if keeper_schema {
            cfg.options(format!("-c search_path={SCHEMA}"));
        }
        if let Some(p) = url.password() {
            cfg.password(p.expose_secret());
        }
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls::client_config(url)? {
            None => Manager::from_config(cfg, NoTls, manager_config),
            Some(config) => {
                cfg.ssl_mode(match url.sslmode {
                    super::url::SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
                    _ => tokio_postgres::config::SslMode::Require,
                });
                Manager::from_config(
                    cfg,
                    tokio_postgres_rustls::MakeRustlsConnect::new(config),
                    manager_config,
                )
            }
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(60)))
            .create_timeout(Some(url.connect_timeout))
            .build()
            .map_err(|e| VaultError::Storage(format!("PostgreSQL pool: {e}")))?;
        Ok(Self {
            pool,
            url: url.clone(),
        })
    }

    /// A connection from the pool.
    ///
    /// # Errors
    ///
    /// [`VaultError::Storage`] naming the server (never the password) when
    /// it cannot be reached or refuses the login.
    pub(super) fn get(&self) -> Result<deadpool_postgres::Object> {
        let pool = self.pool.clone();
        on_runtime(async move { pool.get().await })?.map_err(|e| {
            let why = match &e {
                deadpool_postgres::PoolError::Backend(pg) => describe(pg),
                other => other.to_string(),
            };
            VaultError::Storage(format!("cannot connect to {}: {why}", self.url))
        })
    }

    /// The database's URL (without password).
    pub(super) fn url(&self) -> &PgUrl {
        &self.url
    }
}

/// Either a plain connection (autocommit) or a transaction on one.
pub(super) enum Db<'a, 'c> {
    /// Autocommit statements.
    Client(&'a deadpool_postgres::Object),
    /// Statements inside a transaction.
    Tx(&'a deadpool_postgres::Transaction<'c>),
}

impl Db<'_, '_> {
    async fn prepare(
        &self,
        sql: &str,
    ) -> std::result::Result<tokio_postgres::Statement, tokio_postgres::Error> {
        match self {
            Db::Client(c) => c.prepare_cached(sql).await,
            Db::Tx(t) => t.prepare_cached(sql).await,
        }
    }

    /// All rows of a query.
    pub(super) fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        wait(async {
            let st = self.prepare(sql).await?;
            match self {
                Db::Client(c) => c.query(&st, params).await,
                Db::Tx(t) => t.query(&st, params).await,
            }
        })
        .map_err(Into::into)
    }

    /// At most one row.
    pub(super) fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        wait(async {
            let st = self.prepare(sql).await?;
            match self {
                Db::Client(c) => c.query_opt(&st, params).await,
                Db::Tx(t) => t.query_opt(&st, params).await,
            }
        })
        .map_err(Into::into)
    }

    /// Runs a statement; returns how many rows it changed.
    pub(super) fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        wait(async {
            let st = self.prepare(sql).await?;
            match self {
                Db::Client(c) => c.execute(&st, params).await,
                Db::Tx(t) => t.execute(&st, params).await,
            }
        })
        .map_err(Into::into)
    }

    /// Several statements without parameters.
    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        wait(async {
            match self {
                Db::Client(c) => c.batch_execute(sql).await,
                Db::Tx(t) => t.batch_execute(sql).await,
            }
        })
        .map_err(Into::into)
    }

    /// Streams the rows of a query to `f` as they arrive.
    pub(super) fn for_each(
        &self,
        sql: &str,
        params: Params<'_>,
        f: &mut dyn FnMut(Row) -> Result<()>,
    ) -> Result<()> {
        wait(async {
            let st = self.prepare(sql).await?;
            let stream = match self {
                Db::Client(c) => c.query_raw(&st, params.iter().copied()).await?,
                Db::Tx(t) => t.query_raw(&st, params.iter().copied()).await?,
            };
            let mut stream = std::pin::pin!(stream);
            while let Some(row) = stream.next().await {
                f(row?)?;
            }
            Ok::<_, VaultError>(())
        })
    }
}

/// A server error's message and detail; other errors as they print.
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        None => e.to_string(),
    }
}

/// Whether the server gave up on the transaction because of concurrent
/// ones (it is safe to run it again from the start).
pub(super) fn is_contention(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

impl From<tokio_postgres::Error> for VaultError {
    fn from(e: tokio_postgres::Error) -> Self {
        if is_contention(&e) {
            VaultError::Contended(describe(&e))
        } else {
            VaultError::Storage(format!("PostgreSQL: {}", describe(&e)))
        }
    }
}
