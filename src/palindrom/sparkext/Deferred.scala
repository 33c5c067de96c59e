/*
 * Deferred relations: DataFrame operations that Spark Connect's planner analyses while it
 * translates them (withWatermark, na.fill/drop/replace, describe, ...) are sent by palindrom's
 * client wrapped in a relation extension and translated only once their input is resolved.
 *
 * Why: a pipeline flow is defined before the datasets it reads exist. The planner builds a
 * Dataset of the operation's input to apply these operations, so a read of a pipeline dataset
 * fails with TABLE_OR_VIEW_NOT_FOUND on a first run, or binds the physical table on later runs
 * (and the flow loses its dependency on the dataset). Deferred, the operation waits in the plan as
 * an unresolved node; when the pipeline resolves the flow (dataset reads bound to the graph, in
 * dependency order, as on Databricks), the analyzer rule below translates it with the planner's
 * own code, so the semantics are exactly Spark's.
 *
 * The package is under org.apache.spark.sql.connect to reach the session holder's DataFrame cache.
 */
package org.apache.spark.sql.connect.palindrom

import java.util.{Optional, UUID}

import org.apache.spark.connect.proto
import org.apache.spark.sql.{SparkSession, SparkSessionExtensions}
import org.apache.spark.sql.catalyst.expressions.Attribute
import org.apache.spark.sql.catalyst.plans.logical.{LogicalPlan, UnaryNode}
import org.apache.spark.sql.catalyst.rules.Rule
import org.apache.spark.sql.classic.{Dataset => ClassicDataset}
import org.apache.spark.sql.connect.planner.SparkConnectPlanner
import org.apache.spark.sql.connect.plugin.RelationPlugin
import org.apache.spark.sql.connect.service.SessionHolder
import org.sparkproject.connect.protobuf.{Any => ProtoAny, Message}

object Deferred {
  /** The extension's type URL; its value is the serialized relation that was deferred. */
  val TypeUrl = "type.googleapis.com/palindrom.Deferred"

  private def parts(rel: proto.Relation) = {
    val opField = rel.getDescriptorForType.findFieldByNumber(rel.getRelTypeCase.getNumber)
    val op = rel.getField(opField).asInstanceOf[Message]
    val inputField = op.getDescriptorForType.findFieldByName("input")
    if (inputField == null) {
      throw new IllegalArgumentException(s"palindrom: ${rel.getRelTypeCase} has no input to defer")
    }
    (opField, op, inputField)
  }

  def input(rel: proto.Relation): proto.Relation = {
    val (_, op, inputField) = parts(rel)
    op.getField(inputField).asInstanceOf[proto.Relation]
  }

  def withInput(rel: proto.Relation, input: proto.Relation): proto.Relation = {
    val (opField, op, inputField) = parts(rel)
    rel.toBuilder.setField(opField, op.toBuilder.setField(inputField, input).build()).build()
  }
}

/** An operation waiting for its input to be resolved; ``op`` holds it with an empty input. */
case class DeferredRelation(op: proto.Relation, child: LogicalPlan)(val holder: SessionHolder)
    extends UnaryNode {
  override def output: Seq[Attribute] = Nil
  override lazy val resolved: Boolean = false
  override protected def withNewChildInternal(newChild: LogicalPlan): LogicalPlan =
    copy(child = newChild)(holder)
  override def otherCopyArgs: Seq[AnyRef] = holder :: Nil
  override def simpleString(maxFields: Int): String = s"Deferred ${op.getRelTypeCase}"
}

class DeferredRelationPlugin extends RelationPlugin {
  override def transform(bytes: Array[Byte], planner: SparkConnectPlanner): Optional[LogicalPlan] = {
    val extension = ProtoAny.parseFrom(bytes)
    if (extension.getTypeUrl != Deferred.TypeUrl) return Optional.empty()
    val rel = proto.Relation.parseFrom(extension.getValue)
    val op = Deferred.withInput(rel, proto.Relation.getDefaultInstance)
    Optional.of(DeferredRelation(op, planner.transformRelation(Deferred.input(rel)))(planner.sessionHolder))
  }
}

/** Translates a deferred operation once its input is resolved, with the planner's own code. */
class ResolveDeferredRelations(session: SparkSession) extends Rule[LogicalPlan] {
  override def apply(plan: LogicalPlan): LogicalPlan = plan.resolveOperatorsUp {
    case deferred: DeferredRelation if deferred.child.resolved =>
      val holder = deferred.holder
      val id = s"palindrom-deferred-${UUID.randomUUID()}"
      holder.cacheDataFrameById(id, ClassicDataset.ofRows(holder.session, deferred.child))
      try {
        val input = proto.Relation.newBuilder()
          .setCachedRemoteRelation(proto.CachedRemoteRelation.newBuilder().setRelationId(id))
          .build()
        new SparkConnectPlanner(holder).transformRelation(Deferred.withInput(deferred.op, input))
      } finally {
        holder.removeCachedDataFrame(id)
      }
  }
}

class PalindromExtensions extends (SparkSessionExtensions => Unit) {
  override def apply(extensions: SparkSessionExtensions): Unit = {
    extensions.injectResolutionRule(session => new ResolveDeferredRelations(session))
  }
}
