// The device table's columns: what each shows, how it sorts.
import type { Column } from '../components/VirtualTable';
import { fmtAgo, fmtBytes, fmtFreq, fmtInt, fmtTime } from '../format';
import { href } from '../router';
import type { DeviceRow } from '../store/devices';
import { load } from '../store/devices';
import { sourceName } from '../store/sources';

export interface DeviceColumn extends Column<DeviceRow> {
  sortKey: (r: DeviceRow) => number | string;
  csv: (r: DeviceRow) => string | number;
}

const now = () => load.value.serverTime || Date.now() / 1000;

function ssidText(r: DeviceRow): string {
  if (r.ssids.length) return r.ssids.join(', ');
  if (r.probed.length) return 'probes: ' + r.probed.join(', ');
  return '';
}

export const deviceColumnDefs: DeviceColumn[] = [
  {
    id: 'name', label: 'Name', width: 190,
    cell: (r) => (
      <a href={href('device', r.key)} tabIndex={-1}>
        {r.username || r.name || r.mac}
      </a>
    ),
    title: (r) => r.username || r.name,
    sortKey: (r) => (r.username || r.name || r.mac).toLowerCase(),
    csv: (r) => r.username || r.name,
  },
  {
    id: 'mac', label: 'MAC', width: 172,
    cell: (r) => (
      <span class="mono">
        {r.mac}
        {r.randomized ? <abbr title="randomised (locally administered) MAC" class="tag">R</abbr> : null}
      </span>
    ),
    sortKey: (r) => r.mac,
    csv: (r) => r.mac,
  },
  { id: 'type', label: 'Type', width: 110, cell: (r) => r.type.replace(/^Wi-Fi /, ''), sortKey: (r) => r.type, csv: (r) => r.type },
  { id: 'ssid', label: 'SSID', width: 200, cell: ssidText, title: ssidText, sortKey: (r) => ssidText(r).toLowerCase(), csv: ssidText },
  { id: 'manuf', label: 'Manufacturer', width: 150, cell: (r) => r.manuf, title: (r) => r.manuf, sortKey: (r) => r.manuf.toLowerCase(), csv: (r) => r.manuf },
  { id: 'crypt', label: 'Encryption', width: 110, cell: (r) => r.crypt, sortKey: (r) => r.crypt, csv: (r) => r.crypt },
  { id: 'channel', label: 'Ch', width: 56, align: 'right', cell: (r) => r.channel, sortKey: (r) => Number(r.channel) || 0, csv: (r) => r.channel },
  { id: 'freq', label: 'Frequency', width: 96, align: 'right', cell: (r) => fmtFreq(r.freq), sortKey: (r) => r.freq, csv: (r) => r.freq },
  { id: 'signal', label: 'Signal', width: 72, align: 'right', cell: (r) => (r.signal ? `${r.signal}` : '–'), sortKey: (r) => r.signal || -1000, csv: (r) => r.signal || '' },
  { id: 'packets', label: 'Packets', width: 88, align: 'right', cell: (r) => fmtInt(r.packets), sortKey: (r) => r.packets, csv: (r) => r.packets },
  { id: 'bytes', label: 'Data', width: 84, align: 'right', cell: (r) => fmtBytes(r.bytes), sortKey: (r) => r.bytes, csv: (r) => r.bytes },
  {
    id: 'seenby', label: 'Seen by', width: 150,
    cell: (r) => (r.sensors.length === 1 ? sourceName(r.sensors[0]) : r.sensors.length ? `${r.sensors.length} sensors` : '–'),
    title: (r) => r.sensors.map(sourceName).join(', '),
    sortKey: (r) => r.sensors.length,
    csv: (r) => r.sensors.map(sourceName).join(' '),
  },
  { id: 'clients', label: 'Clients', width: 70, align: 'right', cell: (r) => (r.clients ? fmtInt(r.clients) : ''), sortKey: (r) => r.clients, csv: (r) => r.clients },
  { id: 'first', label: 'First seen', width: 150, cell: (r) => fmtTime(r.first), sortKey: (r) => r.first, csv: (r) => r.first },
  { id: 'last', label: 'Last seen', width: 110, cell: (r) => fmtAgo(r.last, now()), title: (r) => fmtTime(r.last), sortKey: (r) => r.last, csv: (r) => r.last },
  { id: 'key', label: 'Key', width: 270, cell: (r) => <span class="mono">{r.key}</span>, sortKey: (r) => r.key, csv: (r) => r.key },
];

export const columnById = new Map(deviceColumnDefs.map((c) => [c.id, c]));
