/** One change as /status and the approvals list it: its address, action and why it waits. */
export interface ChangeBrief {
  address: string;
  action: string;
  /** Why it is blocked or held. */
  reason: string | null;
}
