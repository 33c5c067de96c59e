/*
 * The Connect sessions of a shared local server (palindrom's per-storage daemon), listed and stopped.
 *
 * A client that dies (SIGKILL, a closed laptop lid, the OOM killer) leaves its session open on the
 * server, and a pipeline update it started keeps running: Spark Connect notices a client only when
 * the session times out (an hour by default). The daemon asks for the open sessions, finds those
 * whose client process is gone (their user id names the process) and stops them here.
 *
 * Closing a session alone does not end its update: `PipelineExecution.runPipeline` holds the
 * execution's monitor until the graph completes, and the close waits for that monitor; stopping the
 * graph execution alone keeps the running flow's streaming query going (measured on 4.3). So the
 * graph execution is stopped first (no further flow starts), then every streaming query of the
 * session (each stop waits for the query's thread), then its operations are interrupted and the
 * session is closed. The session's
 * pipeline executions, their graph executions and the interrupt are private to Spark: reached by
 * reflection.
 */
package org.apache.spark.sql.connect.palindrom

import scala.jdk.CollectionConverters._
import scala.util.control.NonFatal

import org.apache.spark.internal.Logging
import org.apache.spark.sql.connect.service.{SessionHolder, SessionKey, SparkConnectService}
import org.apache.spark.sql.pipelines.graph.{GraphExecution, PipelineExecution, PipelineUpdateContext}

object SessionControl extends Logging {
  private def method(owner: Class[_], name: String): java.lang.reflect.Method = {
    val found = owner.getDeclaredMethod(name)
    found.setAccessible(true)
    found
  }

  private lazy val executions = method(classOf[SessionHolder], "pipelineExecutions")
  private lazy val graphExecution = method(classOf[PipelineExecution], "graphExecution")
  private lazy val interruptAll = method(classOf[SessionHolder], "interruptAll")

  /** "userId<TAB>sessionId" of every open session. */
  def openSessions(): Array[String] =
    SparkConnectService.sessionManager.listActiveSessions.map(i => s"${i.userId}\t${i.sessionId}").toArray

  /** Stops the pipeline updates and streaming queries of session (userId, sessionId) and closes it;
   * returns how many updates and queries it stopped, or -1 when the session is not open. */
  def stop(userId: String, sessionId: String): Int = {
    val manager = SparkConnectService.sessionManager
    val key = SessionKey(userId, sessionId)
    manager.getIsolatedSessionIfPresent(key) match {
      case None => -1
      case Some(holder) =>
        val running = executions.invoke(holder)
          .asInstanceOf[java.util.concurrent.ConcurrentHashMap[String, PipelineUpdateContext]].values.asScala.toSeq
        running.foreach { context =>
          // No further flow starts; stop() may rethrow how the run ended (RunTerminationException).
          try graphExecution.invoke(context.pipelineExecution).asInstanceOf[Option[GraphExecution]].foreach(_.stop())
          catch { case NonFatal(e) => logInfo(s"palindrom: session $sessionId's update ended: $e") }
        }
        // The graph's stop leaves a running flow's query running: stop each (it waits for the query's thread).
        val streams = (running.flatMap(_.spark.streams.active) ++ holder.session.streams.active).distinct
        streams.foreach(_.stop())
        interruptAll.invoke(holder)
        try manager.closeSession(key, true)
        catch { case NonFatal(e) => logInfo(s"palindrom: session $sessionId closed: $e") }
        logInfo(s"palindrom: stopped session $sessionId of $userId (${running.size} updates, ${streams.size} queries)")
        running.size + streams.size
    }
  }
}
