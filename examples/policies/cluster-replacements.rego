# At most two clusters replaced per week. The plan says what one run replaces, not what earlier
# runs did (it holds no history), so this counts the replacements of one plan: with plans
# applied at most once a week (a weekly change window) that is the week's (docs/policies.md).
package main

max_replaced := 2

replaced contains change.address if {
	some change in input.changes
	change.kind == "Cluster"
	change.action == "replace"
}

deny contains msg if {
	count(replaced) > max_replaced
	msg := sprintf("%d clusters are replaced (%s): at most %d a week", [count(replaced), concat(", ", sort(replaced)), max_replaced])
}
