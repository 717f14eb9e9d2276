/**
 * formats/exporter-version.ts: the version of the exporter's quantization of a task model, as
 * result files record it. The exporter (rtl-model/export.ts) writes it, the trainer's result files
 * carry it (`integer.images.exporterVersion`), and the campaign, the Table 3 CLI and the simulator's
 * report compare it with the current one; all of them read it from here, not from each other.
 */

/**
 * Version of the exporter's quantization of a task model, recorded with every integer accuracy
 * (results' `integer.images.exporterVersion`); a campaign treats results of another version as
 * stale. 2: the classification head at the task's own per-class scales (1: at the base model's).
 */
export const EXPORTER_VERSION = 2;

/** The exporter version of a result file's integer accuracy (1 when unrecorded), null when it has none. */
export function exporterVersionOf(result: { integer?: { images?: { exporterVersion?: number } } | null }): number | null {
  return result.integer ? (result.integer.images?.exporterVersion ?? 1) : null;
}
