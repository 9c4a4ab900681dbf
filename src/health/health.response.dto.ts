import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { KeyVerifier } from '@keyledger/nestjs';
import type { Checkpoint, ProjectionStatus } from '../event-store/index.js';

// The bodies of /health and /health/ready, 200 or 503 alike (not the error shape: probes read them).
// `implements` makes the compiler refuse a schema that drifts from what the controller returns.

export class LivenessResponseDto {
  @ApiProperty({ enum: ['ok'] }) status!: 'ok';
}

export class ReadinessResponseDto {
  @ApiProperty({ enum: ['ready', 'not-ready'] }) status!: 'ready' | 'not-ready';
  @ApiProperty({ type: [String], example: ['database unreachable'] }) reasons!: string[];
}

class DatabaseHealthDto {
  @ApiProperty() ok!: boolean;
  @ApiPropertyOptional() latencyMs?: number;
}

class ListenHealthDto {
  @ApiProperty() connected!: boolean;
  @ApiProperty() reconnects!: number;
}

class ReplicaHealthDto implements ReturnType<KeyVerifier['status']> {
  @ApiProperty({ description: 'Keys held in memory' }) keys!: number;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) lastSyncAt!: string | null;
  @ApiProperty() listening!: boolean;
  @ApiProperty() reconnects!: number;
  @ApiProperty({ description: 'Database lookups of keys this instance did not know yet' }) lookups!: number;
  @ApiProperty({ description: 'How long it has been cut off from change notifications (0 while fresh)' }) staleForMs!: number;
  @ApiProperty({ description: 'Refusing every key with 503 (stale past its bound)' }) failingClosed!: boolean;
}

class CheckpointDto implements Checkpoint {
  @ApiProperty() transactionId!: string;
  @ApiProperty() position!: number;
}

/** A projection as /health shows it: no error text (it may quote the database), which goes to the logs. */
export class ProjectionHealthDto implements Omit<ProjectionStatus, 'error'> {
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['inline', 'async'] }) kind!: 'inline' | 'async';
  @ApiProperty({ enum: ['inline', 'idle', 'running', 'retrying', 'halted', 'stopped'] }) state!: ProjectionStatus['state'];
  @ApiPropertyOptional({ type: CheckpointDto }) checkpoint?: CheckpointDto;
  @ApiProperty({ description: 'Events not applied yet' }) lag!: number;
}

/** Whether the database answers, never why not (a driver's error names the host and port): that goes to the logs. */
export class HealthResponseDto {
  @ApiProperty({ enum: ['ok', 'degraded', 'down'] }) status!: 'ok' | 'degraded' | 'down';
  @ApiProperty({ type: DatabaseHealthDto }) database!: DatabaseHealthDto;
  @ApiProperty({ type: ListenHealthDto }) listen!: ListenHealthDto;
  @ApiProperty({ type: ReplicaHealthDto }) replica!: ReplicaHealthDto;
  @ApiProperty({ type: [ProjectionHealthDto] }) projections!: ProjectionHealthDto[];
  @ApiProperty({ description: 'Stored key events this version cannot read; any makes the status degraded' }) unreadableEvents!: number;
}
