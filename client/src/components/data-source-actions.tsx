/**
 * What a person who may change data sources (`viewerCan.editDataSources`) can do with one on the
 * connection page: edit its name, schedule (with the schedule in words as they type) and filter
 * (JSON, checked before it is sent), move it to another connection of the same integration, or
 * delete it after a confirmation naming it. Each answers in place with the outcome or the typed
 * error the gateway returned. As in connection-actions.tsx, the focus moves into a form or
 * confirmation when it opens, back to what opened it on Cancel or Escape, onto the outcome after.
 */
import { useId, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { DeleteDataSourceMutation, MoveTargetsQuery, UpdateDataSourceMutation, type DataSource } from '../documents';
import { scheduleInWords, STATUS_LABELS } from '../format';
import { ActionButton } from './connection-actions';
import { Form } from './credential-form';
import { useInlineActions } from './inline-actions';
import { OutcomeNotice, outcomeOf } from './ui';

type Mode = 'edit' | 'move' | 'confirm-delete';

/** The filter as the form shows it: pretty JSON, or empty for none. */
function filterText(filter: DataSource['filter']): string {
  return filter == null ? '' : JSON.stringify(filter, null, 2);
}

/** The filter text read back: null for none, an object, or why it is not one. */
function parseFilter(text: string): { value: Record<string, unknown> | null } | { problem: string } {
  if (!text.trim()) return { value: null };
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { problem: 'The filter must be a JSON object, e.g. {"country": "FR"}.' };
    return { value: value as Record<string, unknown> };
  } catch (error) {
    return { problem: `The filter is not valid JSON: ${(error as Error).message}` };
  }
}

export function DataSourceActions({
  source,
  connection,
  onChanged,
}: {
  source: Pick<DataSource, 'id' | 'name' | 'schedule' | 'filter'>;
  connection: { id: string; integration: { key: string; name: string } };
  /** After a change the page reads the connection again (a move or delete changes its list and what it allows). */
  onChanged: () => void;
}) {
  const { mode, setMode, root, busy, outcome, outcomeKey, setOutcome, onKeyDown, perform, dropFocusReturn } = useInlineActions<Mode>({ clearOutcomeOnOpen: true });
  const [name, setName] = useState(source.name);
  const [schedule, setSchedule] = useState(source.schedule);
  const [filter, setFilter] = useState(filterText(source.filter));
  const [target, setTarget] = useState('');
  const ids = useId();

  const [, update] = useMutation(UpdateDataSourceMutation);
  const [, remove] = useMutation(DeleteDataSourceMutation);
  const [targets] = useQuery({ query: MoveTargetsQuery, variables: { integration: connection.integration.key }, pause: mode !== 'move', requestPolicy: 'cache-and-network' });
  const choices = (targets.data?.connections.nodes ?? []).filter((node) => node.id !== connection.id && node.viewerCan.use && node.name !== null);

  const onSave = () =>
    perform('save', async () => {
      const parsed = parseFilter(filter);
      if ('problem' in parsed) return { kind: 'notice', tone: 'error', title: parsed.problem, body: <p className="muted small">Nothing was sent.</p> };
      const { failure } = outcomeOf(await update({ input: { id: source.id, name: name.trim(), schedule: schedule.trim(), filter: parsed.value } }), 'updateDataSource');
      if (failure) return failure;
      setMode('idle');
      onChanged();
      return { kind: 'notice', tone: 'success', title: 'Saved.' };
    });

  const onMove = () =>
    perform('move', async () => {
      const to = choices.find((choice) => choice.id === target);
      if (!to) return null;
      const { failure } = outcomeOf(await update({ input: { id: source.id, connectionId: to.id } }), 'updateDataSource');
      if (failure) return failure;
      dropFocusReturn();
      onChanged();
      return null;
    });

  const onDelete = () =>
    perform('delete', async () => {
      const { failure } = outcomeOf(await remove({ id: source.id }), 'deleteDataSource');
      setMode('idle');
      if (failure) return failure;
      dropFocusReturn();
      onChanged();
      return null;
    });

  const words = scheduleInWords(schedule);
  const cancel = (focus = false) => <ActionButton label="Cancel" tone="ghost" action="cancel" autoFocus={focus} onClick={() => setMode('idle')} />;

  return (
    <div className="actions-block source-actions" ref={root} onKeyDown={onKeyDown}>
      {mode === 'idle' && (
        <div className="actions">
          <ActionButton
            action="edit-data-source"
            label="Edit"
            tone="secondary"
            disabled={busy !== null}
            onClick={() => {
              setName(source.name);
              setSchedule(source.schedule);
              setFilter(filterText(source.filter));
              setMode('edit', 'edit-data-source');
            }}
          />
          <ActionButton action="move-data-source" label="Move" tone="secondary" disabled={busy !== null} onClick={() => { setTarget(''); setMode('move', 'move-data-source'); }} />
          <ActionButton action="delete-data-source" label="Delete" tone="danger-quiet" disabled={busy !== null} onClick={() => setMode('confirm-delete', 'delete-data-source')} />
        </div>
      )}

      {mode === 'edit' && (
        <Form className="stacked-form" onSubmit={onSave}>
          <div className="field">
            <label htmlFor={`${ids}-name`}>Name</label>
            <input id={`${ids}-name`} value={name} maxLength={120} required autoFocus onChange={(event) => setName(event.target.value)} />
          </div>
          <div className="field">
            <label htmlFor={`${ids}-schedule`}>Schedule (cron, UTC)</label>
            <input id={`${ids}-schedule`} value={schedule} required spellCheck={false} aria-describedby={`${ids}-words`} onChange={(event) => setSchedule(event.target.value)} />
            <p id={`${ids}-words`} className="muted small" data-schedule-preview aria-live="polite">
              {words ? `${words} (UTC)` : 'Not a schedule this page can read; the gateway checks it when you save.'}
            </p>
          </div>
          <div className="field">
            <label htmlFor={`${ids}-filter`}>Filter (JSON object, empty for none)</label>
            <textarea id={`${ids}-filter`} value={filter} rows={3} spellCheck={false} onChange={(event) => setFilter(event.target.value)} />
          </div>
          <div className="actions">
            <ActionButton submit action="save-data-source" label="Save" busyLabel="Saving…" tone="primary" busy={busy === 'save'} disabled={busy !== null || !name.trim() || !schedule.trim()} />
            {cancel()}
          </div>
        </Form>
      )}

      {mode === 'move' && (
        <Form className="inline-form" onSubmit={onMove}>
          <label htmlFor={`${ids}-target`}>Move {source.name} to</label>
          {targets.fetching && !targets.data ? (
            <span className="muted small">Loading the connections…</span>
          ) : choices.length === 0 ? (
            <span className="muted small">No other {connection.integration.name} connection you may use.</span>
          ) : (
            <select id={`${ids}-target`} value={target} autoFocus onChange={(event) => setTarget(event.target.value)}>
              <option value="">Choose a connection</option>
              {choices.map((choice) => (
                <option key={choice.id} value={choice.id}>
                  {choice.name}
                  {choice.resourceName ? ` · ${choice.resourceName}` : ''} ({STATUS_LABELS[choice.status]})
                </option>
              ))}
            </select>
          )}
          <ActionButton submit action="confirm-move" label="Move" busyLabel="Moving…" tone="primary" busy={busy === 'move'} disabled={busy !== null || !target} />
          {cancel(choices.length === 0)}
        </Form>
      )}

      {mode === 'confirm-delete' && (
        <div className="confirm" role="group" aria-label={`Confirm deleting ${source.name}`}>
          <span>Delete the data source “{source.name}” with its refresh history? This cannot be undone.</span>
          <ActionButton action="confirm-delete-data-source" label="Delete" busyLabel="Working…" tone="danger" busy={busy !== null} disabled={busy !== null} onClick={onDelete} />
          {cancel(true)}
        </div>
      )}

      {outcome && <OutcomeNotice key={outcomeKey} outcome={outcome} focus onDismiss={() => setOutcome(null)} />}
    </div>
  );
}
