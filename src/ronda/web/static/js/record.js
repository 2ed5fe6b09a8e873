// An alert's record, opened from the queue: the operator protocol's checklist
// (each step ticked off with its outcome), the messages sent about the alert
// with their delivery outcome, and escalation to the next link of the chain.
import { api } from "./api.js";
import { el, fmtTime, announce } from "./ui.js";
import { _ } from "./i18n.js";

// Functions, not constants: the catalog is loaded after this module.
const stepOutcomes = () => ({
  done: _("done"),
  no_answer: _("no answer"),
  unreachable: _("unreachable"),
  declined: _("declined"),
  not_applicable: _("not applicable"),
});
const delivery = () => ({ pending: _("waiting to be sent"), sending: _("sending"), sent: _("delivered"), failed: _("failed") });

export async function toggleRecord(a, li, opener) {
  const open = li.querySelector("section.record");
  if (open) { open.remove(); opener?.setAttribute("aria-expanded", "false"); return; }
  const panel = el("section", { class: "record", "aria-label": _("Record of alert {id}", { id: a.id }) });
  li.append(panel);
  opener?.setAttribute("aria-expanded", "true");
  const err = el("p", { class: "error", role: "alert" });

  function render(rec) {
    const STEP_OUTCOMES = stepOutcomes(), DELIVERY = delivery();
    panel.replaceChildren();
    const steps = el("ol", { class: "steps" });
    for (const st of rec.protocol) {
      const id = `a${a.id}-step-${st.step}`;
      const outcome = el("select", { id }, ...Object.entries(STEP_OUTCOMES).map(([v, t]) => el("option", { value: v, text: t })));
      const state = st.outcome
        ? _("{outcome} by {who}, {time}", { outcome: STEP_OUTCOMES[st.outcome] || st.outcome, who: st.by || "", time: fmtTime(st.at) })
        : _("not done yet");
      const form = el("form", { class: "step", "aria-label": st.label },
        el("label", { for: id, text: st.label }), el("span", { class: "meta", "data-step-state": st.outcome || "", text: state }),
        outcome, el("button", { type: "submit", text: _("Record") }));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        try {
          render(await api(`/alerts/${a.id}/steps`, { method: "POST", body: { step: st.step, outcome: outcome.value } }));
          announce(_("Step recorded: {step}", { step: st.label }));
          panel.querySelector(`#${CSS.escape(id)}`)?.focus();
        } catch (e) { err.textContent = e.message; }
      });
      steps.append(el("li", {}, form));
    }
    const sent = el("ul", { class: "deliveries" }, ...rec.notifications.map((n) =>
      el("li", { "data-delivery": n.status, text: _("{recipient} by {channel} ({language}): {status}", {
        recipient: n.recipient, channel: n.channel, language: n.language,
        status: (DELIVERY[n.status] || n.status) + (n.sent ? ", " + fmtTime(n.sent) : "") + (n.last_error ? ", " + n.last_error : ""),
      }) })));
    const escalate = el("button", { type: "button", text: _("Escalate"), "aria-label": _("Escalate alert {id}", { id: a.id }) });
    escalate.addEventListener("click", async () => {
      try {
        render(await api(`/alerts/${a.id}/escalate`, { method: "POST", body: { text: "" } }));
        announce(_("Alert {id}: escalated", { id: a.id }));
      } catch (e) { err.textContent = e.message; }
    });
    panel.append(
      el("h4", { text: _("Protocol") }), rec.protocol.length ? steps : el("p", { text: _("No protocol for this type of alert.") }),
      el("h4", { text: _("Messages sent") }), rec.notifications.length ? sent : el("p", { text: _("No message sent about this alert.") }),
      ...(rec.allowed_actions.includes("escalate") ? [el("div", { class: "actions" }, escalate)] : []),
      err);
  }

  try {
    render(await api(`/alerts/${a.id}/record`));
    panel.querySelector("select, button")?.focus();
  } catch (e) { panel.append(el("p", { class: "error", role: "alert", text: e.message })); }
}
