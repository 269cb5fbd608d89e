"""Getting a Spark session, with one clear message when Spark cannot run here.

pyspark is an optional extra (``pip install -e .[spark]``) and needs a Java
runtime (17 or newer for Spark 4). Both are checked before any session is
started, so a missing piece gives one message naming what to install instead
of a Java stack trace.

On a cluster (spark-submit, a Databricks or EMR notebook) a session already
exists: :func:`get_session` returns it untouched, whatever ``master`` says.
Sessions started here (``local[*]``, ``local[2]``, ``spark://…``, ``yarn``)
get settings suited to a CLV run: UTC session time zone (dates are calendar
days, as in the pandas and DuckDB engines), Arrow transfers, a moderate number
of shuffle partitions and the driver's own Python for the workers.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from typing import Any

INSTALL_PYSPARK = ("the Spark engine needs pyspark: install the optional extra with "
                   "`pip install -e .[spark]` (or `pip install 'pyspark>=4.0,<5'`)")
INSTALL_JAVA = ("the Spark engine needs a Java runtime (17 or newer) and none was found "
                "(no `java` on PATH and no JAVA_HOME): on Debian/Ubuntu "
                "`apt-get install default-jre-headless`, elsewhere any OpenJDK 17+")
PANDAS_WARNING = "PySpark does not yet fully support pandas"


def require_pyspark() -> Any:
    """Import and return :mod:`pyspark`, or raise ImportError naming the extra to install."""
    try:
        import pyspark
    except ImportError as exc:
        raise ImportError(INSTALL_PYSPARK) from exc
    major = int(pyspark.__version__.split(".")[0])
    if major < 4:
        raise ImportError(f"pyspark {pyspark.__version__} is too old for this engine "
                          f"(Spark 4 is needed for pandas 2/3 and numpy 2): {INSTALL_PYSPARK}")
    return pyspark


def java_executable() -> str | None:
    """Path of the ``java`` Spark will use (JAVA_HOME first, then PATH), or None."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = os.path.join(home, "bin", "java")
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("java")


def require_java() -> str:
    """Return the ``java`` executable, or raise RuntimeError naming what to install."""
    java = java_executable()
    if java is None:
        raise RuntimeError(INSTALL_JAVA)
    try:
        subprocess.run([java, "-version"], capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(f"`{java} -version` failed ({exc}); {INSTALL_JAVA}") from exc
    return java


def spark_available() -> tuple[bool, str]:
    """``(True, "")`` when pyspark and Java are usable, else ``(False, reason)`` (for skips)."""
    try:
        require_pyspark()
        require_java()
    except (ImportError, RuntimeError) as exc:
        return False, str(exc)
    return True, ""


def active_session() -> Any | None:
    """The running Spark session (cluster notebook, spark-submit), or None."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    return SparkSession.getActiveSession()


def _local_defaults(master: str) -> dict[str, str]:
    cores = os.cpu_count() or 2
    conf = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.shuffle.partitions": str(max(4, 4 * cores)),
        "spark.ui.showConsoleProgress": "false",
        "spark.executorEnv.PYTHONWARNINGS": f"ignore:{PANDAS_WARNING}",
    }
    if master.startswith("local"):
        conf["spark.driver.extraJavaOptions"] = "-Duser.timezone=UTC"
    return conf


def get_session(master: str | None = "local[*]", *, app_name: str = "crmlib-clv",
                conf: dict[str, str] | None = None, log_level: str = "ERROR") -> Any:
    """Return the active Spark session, or start one on ``master``.

    Parameters
    ----------
    master : Spark master URL: ``"local[*]"`` (all cores of this machine), ``"local[2]"``,
        ``"spark://host:7077"``, ``"yarn"``, … Ignored when a session is already active
        (a Databricks or EMR notebook, spark-submit), which is returned as it is.
    app_name : application name shown in the Spark UI.
    conf : extra Spark settings (e.g. ``{"spark.driver.memory": "4g"}``); they win over
        the defaults set here.
    log_level : log level of the new session's Spark context.

    Raises
    ------
    ImportError : pyspark (the ``spark`` extra) is not installed.
    RuntimeError : no Java runtime is found.
    """
    require_pyspark()
    warnings.filterwarnings("ignore", message=PANDAS_WARNING, category=FutureWarning)
    warnings.filterwarnings("ignore", message="The copy keyword is deprecated",
                            module="pyspark")
    running = active_session()
    if running is not None:
        return running
    require_java()
    from pyspark.sql import SparkSession

    master = master or "local[*]"
    # workers must run the driver's interpreter (a venv's python has pyarrow, pandas, crmlib)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**_local_defaults(master), **(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: name the likely cause
        raise RuntimeError(f"Spark could not start on master {master!r}: {exc}. Check the "
                           f"Java runtime ({java_executable()}) and the master URL.") from exc
    session.sparkContext.setLogLevel(log_level)
    return session
