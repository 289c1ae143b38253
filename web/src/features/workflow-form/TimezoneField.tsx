/** An accessible combobox of IANA time zones (type to filter; any name the server knows is accepted). */
import { useMemo } from 'react';
import {
  Button as AriaButton,
  ComboBox,
  FieldError,
  Input,
  Label,
  ListBox,
  ListBoxItem,
  Popover,
  Text,
} from 'react-aria-components';

let cached: string[] | null = null;
export function timeZones(): string[] {
  if (cached) return cached;
  const intl = Intl as typeof Intl & { supportedValuesOf?: (key: 'timeZone') => string[] };
  const zones = intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : [];
  cached = zones.includes('UTC') ? zones : ['UTC', ...zones];
  return cached;
}

const MAX_OPTIONS = 200;

export function TimezoneField({
  value,
  onChange,
  error,
}: {
  value: string;
  onChange: (zone: string) => void;
  error?: string | null;
}) {
  const items = useMemo(() => {
    const query = value.trim().toLowerCase().replace(/\s+/g, '_');
    const all = timeZones();
    const exact = all.some((z) => z.toLowerCase() === query);
    const matches = exact || query === '' ? all : all.filter((z) => z.toLowerCase().includes(query));
    return matches.slice(0, MAX_OPTIONS).map((id) => ({ id }));
  }, [value]);
  return (
    <ComboBox
      className="field"
      inputValue={value}
      onInputChange={onChange}
      onSelectionChange={(key) => {
        if (key !== null) onChange(String(key));
      }}
      items={items}
      allowsCustomValue
      allowsEmptyCollection
      isInvalid={Boolean(error)}
    >
      <Label className="field-label">Time zone</Label>
      <div className="combobox-input-row">
        <Input className="input" />
        <AriaButton className="btn" aria-label="Show time zones">
          ▾
        </AriaButton>
      </div>
      <Text slot="description" className="field-description">
        An IANA name such as Europe/Paris; the cron expression is read in this zone.
      </Text>
      <FieldError className="field-error">{error}</FieldError>
      <Popover className="combobox-popover">
        <ListBox className="combobox-listbox" renderEmptyState={() => <p className="muted">No such zone</p>}>
          {(item: { id: string }) => (
            <ListBoxItem id={item.id} className="combobox-item" textValue={item.id}>
              {item.id}
            </ListBoxItem>
          )}
        </ListBox>
      </Popover>
    </ComboBox>
  );
}
