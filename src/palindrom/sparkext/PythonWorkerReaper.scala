/*
 * Python worker daemons of closed Spark Connect sessions, stopped.
 *
 * Spark keeps one Python worker factory (a `pyspark.daemon` process and the workers it forked) per
 * distinct worker environment, and a Connect session's environment holds its artifact UUID
 * (SPARK_JOB_ARTIFACT_UUID). Spark 4.3 stops these factories only when the whole server stops, so a
 * long-lived server (the test suite's, a `pipelines serve`, a continuous run's) kept two to four
 * Python processes for every session it ever served: each update runs in a session of its own,
 * and the suite's server alone had about 120 of them, over 3 GiB resident, after ten minutes.
 *
 * When a Connect session closes, this listener stops every factory whose artifact UUID belongs to
 * no open session and whose workers are all idle. The check and the stop hold the SparkEnv's lock,
 * the one Spark takes to hand out and take back a worker, so no task gets a worker of a factory
 * being stopped; a later task of such an environment simply gets a new factory, as on first use.
 * The factory table and a factory's handed-out workers are private to Spark: read by reflection.
 */
package org.apache.spark.sql.connect.palindrom

import scala.collection.mutable

import org.apache.spark.{SparkConf, SparkEnv}
import org.apache.spark.api.python.PythonWorkerFactory
import org.apache.spark.internal.Logging
import org.apache.spark.scheduler.{SparkListener, SparkListenerEvent}
import org.apache.spark.sql.connect.service.{SessionKey, SparkConnectService, SparkListenerConnectSessionClosed}

class PythonWorkerReaper(conf: SparkConf) extends SparkListener {
  override def onOtherEvent(event: SparkListenerEvent): Unit = event match {
    case _: SparkListenerConnectSessionClosed => PythonWorkerReaper.reap()
    case _ =>
  }
}

object PythonWorkerReaper extends Logging {
  val ArtifactEnv = "SPARK_JOB_ARTIFACT_UUID"

  private def field(owner: Class[_], name: String): java.lang.reflect.Field = {
    val found = owner.getDeclaredField(name)
    found.setAccessible(true)
    found
  }

  private lazy val factories = field(classOf[SparkEnv], "pythonWorkers")
  private lazy val handedOut = field(classOf[PythonWorkerFactory], "daemonWorkers")
  private lazy val simple = field(classOf[PythonWorkerFactory], "simpleWorkers")

  /** The artifact UUIDs of the Connect sessions open now. */
  private def openSessions(): Set[String] = {
    val manager = SparkConnectService.sessionManager
    manager.listActiveSessions.flatMap { info =>
      manager.getIsolatedSessionIfPresent(SessionKey(info.userId, info.sessionId))
        .map(_.artifactManager.state.uuid)
    }.toSet
  }

  private def artifactOf(key: AnyRef): Option[String] = {
    val env = key.getClass.getMethod("envVars").invoke(key).asInstanceOf[scala.collection.Map[String, String]]
    env.get(ArtifactEnv)
  }

  private def idle(factory: PythonWorkerFactory): Boolean = factory.synchronized {
    val daemonWorkers = handedOut.get(factory).asInstanceOf[mutable.WeakHashMap[AnyRef, AnyRef]]
    val simpleWorkers = simple.get(factory).asInstanceOf[mutable.WeakHashMap[AnyRef, AnyRef]]
    simpleWorkers.isEmpty && daemonWorkers.size <= factory.idleWorkers.size
  }

  /** Stops the idle factories of closed sessions; returns how many it stopped. */
  def reap(): Int = {
    val env = SparkEnv.get
    if (env == null) return 0
    try {
      val open = openSessions()
      env.synchronized {
        val table = factories.get(env).asInstanceOf[mutable.HashMap[AnyRef, PythonWorkerFactory]]
        val stale = table.toSeq.filter { case (key, factory) =>
          artifactOf(key).exists(id => !open.contains(id)) && idle(factory)
        }
        stale.foreach { case (key, factory) =>
          table.remove(key)
          factory.stop()
        }
        if (stale.nonEmpty) logInfo(s"palindrom: stopped ${stale.size} Python worker factories of closed sessions")
        stale.size
      }
    } catch {
      // A Spark whose internals differ: leave its workers alone rather than fail a session's close.
      case e: ReflectiveOperationException =>
        logWarning(s"palindrom: cannot stop closed sessions' Python workers: $e")
        0
    }
  }
}
