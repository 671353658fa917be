import { Center, Paper, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';

/** The frame of the signed-out pages: one card in the middle of the screen. */
export function AuthCard({ title, subtitle, children }: { title: string; subtitle?: string; children: ReactNode }) {
  return (
    <Center component="main" mih="100vh" bg="gray.0" p="md">
      <Paper withBorder shadow="sm" p="xl" radius="md" w={420} maw="100%">
        <Stack gap="md">
          <div>
            <Text fw={700} c="indigo.8" size="sm">Keyhold</Text>
            <Title order={1} size="h2">{title}</Title>
            {subtitle ? <Text c="dimmed" size="sm">{subtitle}</Text> : null}
          </div>
          {children}
        </Stack>
      </Paper>
    </Center>
  );
}
