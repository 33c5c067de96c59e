/*
 * The storage format of the local runtime's pipeline tables: Parquet, with a streaming sink that
 * lets several flows append to one table (Databricks's append flows).
 *
 * Spark's file sink keeps one commit log per output directory (`<table>/_spark_metadata`) and
 * numbers its entries by the writing query's batch ids, so two queries writing one table fail
 * ("Multiple streaming queries are concurrently using ...") and, run one after the other, would
 * skip each other's batches. Here each writer (one flow, identified by its checkpoint) writes
 * through its own file sink into `<table>/_palindrom_writers/<writer>/`, exactly once per batch
 * as Spark does; then, under a lock, the batch's files move into the table's folder and are
 * published to the table's commit log under the next free entry. Readers are Spark's own: a
 * batch read or a stream of the table reads the files the table's commit log lists, so a
 * half-written batch is never visible. A replay after a crash publishes a batch at most once
 * (its files' unique names are already in the table's log).
 */
package org.apache.spark.sql.connect.palindrom

import java.nio.channels.FileChannel
import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Paths, StandardOpenOption}
import java.security.MessageDigest
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.locks.ReentrantLock

import org.apache.hadoop.fs.Path

import org.apache.spark.sql.{DataFrame, SQLContext, SparkSession}
import org.apache.spark.sql.execution.datasources.parquet.ParquetFileFormat
import org.apache.spark.sql.execution.streaming.Sink
import org.apache.spark.sql.execution.streaming.sinks.{FileStreamSink, FileStreamSinkLog}
import org.apache.spark.sql.sources.StreamSinkProvider
import org.apache.spark.sql.streaming.OutputMode

class PipelineTableFormat extends ParquetFileFormat with StreamSinkProvider {
  override def shortName(): String = "palindrom_parquet"

  override def createSink(
      sqlContext: SQLContext,
      parameters: Map[String, String],
      partitionColumns: Seq[String],
      outputMode: OutputMode): Sink = {
    val options = parameters.map { case (k, v) => k.toLowerCase(java.util.Locale.ROOT) -> v }
    val path = options.getOrElse("path", throw new IllegalArgumentException("palindrom: no table path"))
    val writer = options.getOrElse("checkpointlocation",
      throw new IllegalArgumentException("palindrom: a pipeline table's writer needs a checkpoint location"))
    new SharedTableSink(sqlContext.sparkSession, path, writer, partitionColumns, parameters)
  }
}

object SharedTableSink {
  val WritersDir = "_palindrom_writers"
  private val locks = new ConcurrentHashMap[String, ReentrantLock]()

  /** One writer at a time per table: a lock in this JVM, and a file lock across processes. */
  def withTableLock[T](table: Path)(body: => T): T = {
    val key = table.toUri.getPath
    val lock = locks.computeIfAbsent(key, _ => new ReentrantLock())
    lock.lock()
    try {
      val lockFile = Paths.get(key, WritersDir, ".publish.lock")
      Files.createDirectories(lockFile.getParent)
      val channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)
      try {
        val fileLock = channel.lock()
        try body finally fileLock.release()
      } finally channel.close()
    } finally lock.unlock()
  }

  /** The writer of a checkpoint, by its path alone: Spark names one checkpoint `file:/x` in a flow's
   * first update and `file:///x` in later ones, which made every later update a new writer. */
  def writerId(checkpoint: String): String = {
    val path = new Path(checkpoint).toUri.getPath
    val digest = MessageDigest.getInstance("SHA-256").digest(path.getBytes(StandardCharsets.UTF_8))
    digest.take(8).map("%02x".format(_)).mkString
  }
}

class SharedTableSink(
    session: SparkSession,
    tablePath: String,
    checkpoint: String,
    partitionColumns: Seq[String],
    options: Map[String, String]) extends Sink {

  private val table = new Path(tablePath)
  private val writerPath = new Path(new Path(table, SharedTableSink.WritersDir),
    SharedTableSink.writerId(checkpoint))
  private val writerSink = new FileStreamSink(session, writerPath.toString, new ParquetFileFormat(),
    partitionColumns, options.filter { case (k, _) => !k.equalsIgnoreCase("path") } + ("path" -> writerPath.toString))

  private def log(path: Path) =
    new FileStreamSinkLog(FileStreamSinkLog.VERSION, session, new Path(path, FileStreamSink.metadataDir).toString, None)

  private lazy val writerLog = log(writerPath) // read here; writerSink writes the same folder

  /** A writer whose log begins after batch 0 (a checkpoint written under another writer id before,
   * see writerId) gets empty entries for the batches before: its log compacts every tenth batch
   * from all earlier entries, and failed on the first missing one (BATCH_METADATA_NOT_FOUND). */
  private def fillFrom(batchId: Long): Unit = {
    val first = writerLog.getLatestBatchId().map(_ + 1).getOrElse(0L)
    (first until batchId).foreach(id => writerLog.add(id, Array.empty))
  }

  override def addBatch(batchId: Long, data: DataFrame): Unit = {
    fillFrom(batchId)
    writerSink.addBatch(batchId, data) // skips a batch this writer has committed before
    val files = writerLog.get(batchId).getOrElse(Array.empty)
    if (files.nonEmpty) {
      SharedTableSink.withTableLock(table) {
        val fs = table.getFileSystem(session.sessionState.newHadoopConf())
        val tableLog = log(table)
        val listed = tableLog.allFiles().map(f => new Path(f.path).getName).toSet
        // The writer's entry for a compaction batch (every tenth) lists every file it ever wrote:
        // only those the table does not list yet are this batch's (or a replay's not yet published).
        val pending = files.filterNot(f => listed.contains(new Path(f.path).getName))
        // Files move to the table's own folder (readers list only files directly in it); their
        // names are unique, so a replay finds each either still in the writer's folder or moved.
        val published = pending.map { file =>
          val source = new Path(file.path)
          val target = fs.makeQualified(new Path(table, source.getName))
          if (!fs.exists(target) && !fs.rename(source, target)) {
            throw new IllegalStateException(s"palindrom: could not move $source into $table")
          }
          val status = fs.getFileStatus(target)
          file.copy(path = target.toUri.toString, size = status.getLen, modificationTime = status.getModificationTime)
        }
        if (published.nonEmpty) {
          val next = tableLog.getLatestBatchId().getOrElse(-1L) + 1
          if (!tableLog.add(next, published)) {
            throw new IllegalStateException(s"palindrom: entry $next of $table's commit log was taken concurrently")
          }
        }
      }
    }
  }

  override def toString: String = s"PipelineTableSink[$tablePath]"
}
