# Every queue has an owner annotation: each queue the repository declares and the plan creates
# or updates carries metadata.annotations.owner (read from data.poolsync.objects, where poolsync
# puts each declared object's file, line and annotations: docs/policies.md).
package main

deny contains {"msg": msg, "address": change.address} if {
	some change in input.changes
	change.kind == "Queue"
	change.action in {"create", "update", "replace"}
	declared := data.poolsync.objects[change.address]
	not declared.annotations.owner
	msg := sprintf("%s has no owner annotation: add metadata.annotations.owner", [change.address])
}
