# No pool without a container registry: a pool the plan creates, updates or replaces names
# where its images come from (contract.image_registry.locator, P2).
package main

deny contains {"msg": msg, "address": change.address} if {
	some change in input.changes
	change.kind == "ClusterPool"
	change.action in {"create", "update", "replace"}
	not registry(change.after)
	msg := sprintf("%s has no container registry: set spec.image_registry.locator", [change.address])
}

registry(pool) if pool.contract.image_registry.locator != ""
