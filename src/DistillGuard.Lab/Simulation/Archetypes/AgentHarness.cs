namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>Users of a popular agent harness: one long system prompt shared by many unrelated accounts, tool loops (L6).</summary>
internal sealed class AgentHarness : Archetype
{
    public override string Name => "agent-harness";
    public override bool IsAttacker => false;
    public override int DefaultAccounts => 200;
    public override string Description => "Agentic coding tool users: one public harness system prompt shared by unrelated accounts, long tool loops, working hours.";

    /// <summary>The harness's system prompt: identical for every account (an open-source tool's built-in prompt).</summary>
    public const string HarnessPrompt =
        "You are OpenPilot, an autonomous coding agent running in the user's terminal. You can call these tools: " +
        "read_file(path), write_file(path, content), run_shell(command), search(query). Work step by step: plan, call one tool " +
        "at a time, inspect its result, and stop when the task is done. Never run destructive commands without confirmation. " +
        "Keep answers concise; show diffs rather than whole files.";

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var rate = rng.LogNormal(1.2, 0.7);
        foreach (var start in ArrivalProcess.Diurnal(rng, run.Start, run.End, rate, run.Account.UtcOffset, ArrivalProcess.Rhythm.Working, 0.3))
        {
            foreach (var r in Conversation(run, start, HarnessPrompt, rng.Between(3, 12),
                turn => turn == 0 ? CodePrompts.AgentTask(run.Corpus, rng) : CodePrompts.ToolResult(run.Corpus, rng),
                _ => (int)rng.LogNormal(160, 0.6),
                r => r with { Temperature = 0, Stream = true, MaxTokens = run.Cap(4096), Stop = ["</tool_call>"] }, thinkSeconds: 4))
            {
                yield return r;
            }
        }
    }
}
