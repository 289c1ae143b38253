/** The chart with its controls: a range preset and the bucket size (hour or day). */
import { useState } from 'react';
import { Label, Radio, RadioGroup } from 'react-aria-components';
import { TIMESERIES_BUCKETS, useTimeseries, type TimeseriesBucket } from '../../api/analytics.ts';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Select } from '../../components/Field.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { bucketFor, fillBuckets, rangeOf, RANGE_PRESETS, type RangePresetId } from './chart.ts';
import { TimeseriesChart } from './TimeseriesChart.tsx';

const BUCKET_LABEL: Record<TimeseriesBucket, string> = { hour: 'Hourly', day: 'Daily' };

export function TimeseriesPanel({
  workflowId,
  initialRange = '24h',
  initialBucket = 'hour',
  compact = false,
}: {
  workflowId?: string | undefined;
  initialRange?: RangePresetId;
  initialBucket?: TimeseriesBucket;
  compact?: boolean;
}) {
  const [presetId, setPresetId] = useState<RangePresetId>(initialRange);
  const [wanted, setWanted] = useState<TimeseriesBucket>(initialBucket);
  const bucket = bucketFor(presetId, wanted);
  const preset = RANGE_PRESETS.find((p) => p.id === presetId) ?? RANGE_PRESETS[0];
  // Rounded to whole buckets, so the query key only changes when a new bucket starts.
  const range = rangeOf(presetId, bucket, new Date());
  const query = useTimeseries({ workflowId, bucket, ...range });
  // Cheap (at most a few hundred buckets): no memo needed.
  const points = query.data ? fillBuckets(query.data, new Date(range.from), new Date(range.to), bucket) : [];

  return (
    <section className="timeseries" aria-label="Finished jobs over time">
      <div className="timeseries-controls">
        <Select
          label="Range"
          value={presetId}
          onChange={(e) => setPresetId(e.target.value as RangePresetId)}
          options={RANGE_PRESETS.map((p) => ({ value: p.id, label: p.label }))}
        />
        <RadioGroup
          value={bucket}
          onChange={(v) => setWanted(v as TimeseriesBucket)}
          orientation="horizontal"
          className="segmented"
        >
          <Label className="field-label">Bucket</Label>
          <div className="segmented-options">
            {TIMESERIES_BUCKETS.map((b) => (
              <Radio
                key={b}
                value={b}
                className="segmented-option"
                isDisabled={!(preset.buckets as readonly TimeseriesBucket[]).includes(b)}
              >
                {BUCKET_LABEL[b]}
              </Radio>
            ))}
          </div>
        </RadioGroup>
      </div>
      {query.isPending ? (
        <Spinner />
      ) : query.isError ? (
        <ErrorMessage error={query.error} title="Could not load the time series" />
      ) : (
        <TimeseriesChart
          points={points}
          bucket={bucket}
          height={compact ? 160 : undefined}
          caption={`Finished jobs per ${bucket}, ${preset.label.toLowerCase()}`}
        />
      )}
    </section>
  );
}
