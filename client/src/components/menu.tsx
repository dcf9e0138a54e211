/**
 * A menu button (WAI-ARIA menu pattern): the button opens a list of actions; arrow keys, Home and
 * End move between them, Enter or Space runs one, Escape closes the menu and returns the focus to
 * the button, and Tab or a click elsewhere closes it.
 */
import { forwardRef, useEffect, useId, useImperativeHandle, useRef, useState, type KeyboardEvent } from 'react';

export interface MenuItem {
  /** data-action, what the browser tests find the item by. */
  action: string;
  label: string;
  tone?: 'danger';
  onSelect: () => void;
}

export interface MenuHandle {
  /** Puts the focus back on the menu's button. */
  focus: () => void;
}

export const MenuButton = forwardRef<MenuHandle, { label: string; accessibleName?: string; items: MenuItem[]; disabled?: boolean }>(function MenuButton(
  { label, accessibleName, items, disabled = false },
  handle,
) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLUListElement>(null);
  const id = useId();
  useImperativeHandle(handle, () => ({ focus: () => button.current?.focus() }), []);

  const itemsIn = () => Array.from(list.current?.querySelectorAll<HTMLButtonElement>('[role="menuitem"]') ?? []);

  useEffect(() => {
    if (!open) return;
    itemsIn()[0]?.focus();
    const onPointerDown = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', onPointerDown);
    return () => document.removeEventListener('pointerdown', onPointerDown);
  }, [open]);

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };

  const onMenuKeyDown = (event: KeyboardEvent) => {
    const all = itemsIn();
    const at = all.indexOf(document.activeElement as HTMLButtonElement);
    const move = (to: number) => {
      event.preventDefault();
      all[(to + all.length) % all.length]?.focus();
    };
    if (event.key === 'ArrowDown') move(at + 1);
    else if (event.key === 'ArrowUp') move(at - 1);
    else if (event.key === 'Home') move(0);
    else if (event.key === 'End') move(all.length - 1);
    else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      close(true);
    } else if (event.key === 'Tab') setOpen(false);
  };

  if (items.length === 0) return null;
  return (
    <div ref={root} className="menu">
      <button
        ref={button}
        type="button"
        className="button button-small button-ghost menu-button"
        aria-label={accessibleName}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? `${id}-menu` : undefined}
        disabled={disabled}
        data-action="more"
        onClick={() => setOpen(!open)}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
            event.preventDefault();
            setOpen(true);
          }
        }}
      >
        {label}
        <span aria-hidden="true" className="menu-caret">
          ▾
        </span>
      </button>
      {open && (
        <ul ref={list} id={`${id}-menu`} className="menu-list" role="menu" aria-label={label} onKeyDown={onMenuKeyDown}>
          {items.map((item) => (
            <li key={item.action} role="none">
              <button
                type="button"
                role="menuitem"
                tabIndex={-1}
                className={`menu-item${item.tone === 'danger' ? ' menu-item-danger' : ''}`}
                data-action={item.action}
                onClick={() => {
                  setOpen(false);
                  item.onSelect();
                }}
              >
                {item.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
});
